from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from partner_center.auth import StaticTokenProvider
from partner_center.client import CallRecord, PartnerCenterClient
from tests.partner_center.support import TOKEN, FakePartnerCenter


@pytest.fixture
def fake() -> Iterator[FakePartnerCenter]:
    server = FakePartnerCenter()
    yield server
    server.stop()


@pytest.fixture
def records() -> list[CallRecord]:
    return []


@pytest.fixture
def client(
    fake: FakePartnerCenter, records: list[CallRecord]
) -> Iterator[PartnerCenterClient]:
    tokens = StaticTokenProvider(TOKEN)
    pc = PartnerCenterClient(
        fake.api,
        tokens,
        user_tokens=tokens,
        timeout=(1, 0.5),
        on_call=records.append,
        retry_backoff=0.01,
        poll_interval=0.05,
        poll_timeout=2.0,
    )
    yield pc
    pc.close()


@pytest.fixture
def redis_key() -> str:
    return f"test:partner_center:{uuid.uuid4()}"
