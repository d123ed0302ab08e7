"""The write hook: every write is announced before it is sent, then recorded once.

The first tests use the scripted server (to count what reached the wire); the last
ones use the sandbox, to show the hook runs before Partner Center applies a write.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from partner_center.auth import StaticTokenProvider
from partner_center.client import CallRecord, PartnerCenterClient, WriteIntent
from partner_center.config import PartnerCenterConfig, build_client
from tests.partner_center.support import (
    TOKEN,
    Canned,
    FakePartnerCenter,
    SandboxControl,
    example,
)

CID = "b44bb1fb-c595-45b0-9e09-d657365580bf"
ORDERS = f"/v1/customers/{CID}/orders"


class HookFailed(Exception):
    pass


def hooked_client(
    fake: FakePartnerCenter, intents: list[Any], records: list[CallRecord]
) -> PartnerCenterClient:
    tokens = StaticTokenProvider(TOKEN)
    return PartnerCenterClient(
        fake.api,
        tokens,
        user_tokens=tokens,
        timeout=(1, 0.5),
        on_call=records.append,
        on_write=intents.append,
        retry_backoff=0.01,
    )


def test_the_hook_sees_the_intent_before_the_write_reaches_the_wire(
    fake: FakePartnerCenter, records: list[CallRecord]
) -> None:
    fake.script("POST", ORDERS, Canned(201, example("order_created.json")))
    seen_before: list[int] = []
    intents: list[WriteIntent] = []

    def on_write(intent: WriteIntent) -> None:
        seen_before.append(len(fake.requests))
        intents.append(intent)

    pc = hooked_client(fake, [], records)
    pc.on_write = on_write
    pc.create_order(CID.upper(), [{"offerId": "X", "quantity": 1}], request_id="r-1")

    [intent] = intents
    assert seen_before == [0]
    assert (intent.method, intent.path, intent.request_id, intent.operation) == (
        "POST",
        f"/customers/{CID}/orders",
        "r-1",
        "order",
    )
    [sent] = fake.calls("POST")
    assert sent.header("MS-RequestId") == intent.request_id
    assert sent.header("MS-CorrelationId") == intent.correlation_id
    [record] = records
    assert (record.request_id, record.correlation_id, record.status) == (
        intent.request_id,
        intent.correlation_id,
        201,
    )


def test_nothing_is_sent_when_the_hook_raises(
    fake: FakePartnerCenter, records: list[CallRecord]
) -> None:
    fake.script("POST", ORDERS, Canned(201, example("order_created.json")))
    pc = hooked_client(fake, [], records)

    def refuse(intent: WriteIntent) -> None:
        raise HookFailed(intent.request_id)

    pc.on_write = refuse

    with pytest.raises(HookFailed):
        pc.create_order(CID, [{"offerId": "X", "quantity": 1}], request_id="r-2")

    assert fake.requests == []
    assert records == []


def test_reads_are_not_announced(
    fake: FakePartnerCenter, records: list[CallRecord]
) -> None:
    fake.script("GET", f"/v1/customers/{CID}", Canned(200, {"id": CID}))
    intents: list[WriteIntent] = []

    hooked_client(fake, intents, records).get_customer(CID)

    assert intents == [] and len(records) == 1


def test_a_lost_response_still_completes_its_intent_with_one_record(
    fake: FakePartnerCenter, records: list[CallRecord]
) -> None:
    fake.script("POST", ORDERS, Canned(drop=True))
    intents: list[WriteIntent] = []
    pc = hooked_client(fake, intents, records)

    with pytest.raises(Exception, match="may have been applied"):
        pc.create_order(CID, [{"offerId": "X", "quantity": 1}], request_id="r-3")

    [intent] = intents
    [record] = records
    assert record.request_id == intent.request_id == "r-3"
    assert record.status is None and record.error_code == "connection_error"


def test_with_hooks_reports_elsewhere_and_shares_the_session(
    fake: FakePartnerCenter, records: list[CallRecord]
) -> None:
    fake.script("POST", ORDERS, Canned(201, example("order_created.json")))
    shared = hooked_client(fake, [], records)
    mine: list[WriteIntent] = []
    my_records: list[CallRecord] = []

    with shared.with_hooks(on_call=my_records.append, on_write=mine.append) as view:
        view.create_order(CID, [{"offerId": "X", "quantity": 1}], request_id="r-4")

    assert view.session is shared.session
    assert [i.request_id for i in mine] == ["r-4"]
    assert [r.request_id for r in my_records] == ["r-4"]
    assert records == []
    # Closing the view left the shared client usable.
    shared.create_order(CID, [{"offerId": "X", "quantity": 1}], request_id="r-5")
    assert [r.request_id for r in records] == ["r-5"]


# ----------------------------------------------------------------- against sandbox


def sandbox_user(sandbox: SandboxControl) -> dict[str, Any]:
    state = sandbox.state()
    visible = {c["id"] for c in state["customers"] if not c.get("pendingInvitation")}
    return next(
        u
        for u in state["users"]
        if u["customerId"] in visible and u.get("usageLocation") and u["licenses"]
    )


def stored_user(sandbox: SandboxControl, uid: str) -> dict[str, Any]:
    return next(u for u in sandbox.state()["users"] if u["id"] == uid)


def test_the_hook_runs_before_the_sandbox_applies_a_licence_move(
    pc_sandbox: SandboxControl,
) -> None:
    user = sandbox_user(pc_sandbox)
    old_sku = user["licenses"][0]
    seen_in_hook: list[list[str]] = []

    def on_write(intent: WriteIntent) -> None:
        seen_in_hook.append(stored_user(pc_sandbox, user["id"])["licenses"])

    pc = build_client(PartnerCenterConfig.sandbox(pc_sandbox.url), on_write=on_write)
    pc.update_user_licenses(
        user["customerId"], user["id"], [], [old_sku], request_id=str(uuid.uuid4())
    )

    assert seen_in_hook == [user["licenses"]]
    assert old_sku not in stored_user(pc_sandbox, user["id"])["licenses"]


def test_the_hook_runs_before_the_sandbox_applies_a_suspension(
    pc_sandbox: SandboxControl,
) -> None:
    sub = next(
        s
        for s in pc_sandbox.state()["subscriptions"]
        if s["partnerId"] == "4847383" and s["status"] == "active"
    )
    seen_in_hook: list[str] = []

    def status() -> str:
        subs = pc_sandbox.state()["subscriptions"]
        return str(next(s for s in subs if s["id"] == sub["id"])["status"])

    pc = build_client(
        PartnerCenterConfig.sandbox(pc_sandbox.url),
        on_write=lambda intent: seen_in_hook.append(status()),
    )
    pc.suspend_subscription(sub["customerId"], sub["id"], request_id="s-1")

    assert seen_in_hook == ["active"]
    assert status() == "suspended"


def test_when_the_hook_raises_the_sandbox_sees_no_write(
    pc_sandbox: SandboxControl,
) -> None:
    user = sandbox_user(pc_sandbox)

    def refuse(intent: WriteIntent) -> None:
        raise HookFailed

    pc = build_client(PartnerCenterConfig.sandbox(pc_sandbox.url), on_write=refuse)
    with pytest.raises(HookFailed):
        pc.update_user_licenses(
            user["customerId"], user["id"], [], user["licenses"][:1], request_id="x"
        )

    state = pc_sandbox.state()
    assert [r for r in state["requests"] if r["method"] == "POST"] == []
    assert stored_user(pc_sandbox, user["id"])["licenses"] == user["licenses"]
