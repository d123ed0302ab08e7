from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from partner_center.auth import StaticTokenProvider
from partner_center.client import CallRecord, PartnerCenterClient
from tests.partner_center.support import TOKEN, FakePartnerCenter, SandboxControl


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


SANDBOX_CUSTOMERS = 12
SANDBOX_SEED = 7


@pytest.fixture(scope="session")
def pc_sandbox_server() -> Iterator[Any]:
    """Run one sandbox for these tests, independent of the Django test setup."""
    from sandbox.server import start_sandbox

    server = start_sandbox(
        host="127.0.0.1",
        port=0,
        customers=SANDBOX_CUSTOMERS,
        seed=SANDBOX_SEED,
        rate_limit_per_minute=100_000,
        provisioning_delay_seconds=0.2,
    )
    try:
        yield server
    finally:
        server.stop()


# Settings a test may change; a reset keeps settings, so each test restores them.
LIVE_DEFAULTS = {
    "refresh_token_grace_seconds": None,
    "require_mfa": True,
    "user_tokens_mfa": True,
    "gdap_refusal": "no_code",
    "mfa_refusal": "partner_center",
    "checkout_agreement_error": "request",
    "retry_after_seconds": None,
    "page_end_style": "absent",
}


@pytest.fixture
def pc_sandbox(pc_sandbox_server: Any) -> SandboxControl:
    """Return control of a freshly reset sandbox with default settings."""
    control = SandboxControl(pc_sandbox_server.url)
    control.reset(SANDBOX_CUSTOMERS, SANDBOX_SEED)
    control.settings(**LIVE_DEFAULTS)
    return control
