"""The client against the real sandbox over HTTP.

Each test starts from a freshly reset sandbox (12 customers, seed 7).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from partner_center.auth import MemoryRefreshTokenStore
from partner_center.client import CallRecord, PartnerCenterClient
from partner_center.config import (
    PartnerCenterConfig,
    build_client,
    clear_shared_clients,
    shared_client,
)
from partner_center.errors import (
    AuthError,
    Forbidden,
    MalformedResponse,
    PermanentError,
    Throttled,
    TransientError,
)
from partner_center.models import Offer, Order, OrderLineItem
from tests.partner_center.support import REDIS_URL, SandboxControl

OUR_PARTNER_ID = "4847383"
OTHER_PARTNER_ID = "9988776"


@pytest.fixture
def sandbox(pc_sandbox: SandboxControl) -> SandboxControl:
    return pc_sandbox


@pytest.fixture
def pc(sandbox: SandboxControl, records: list[CallRecord]) -> PartnerCenterClient:
    client = build_client(
        PartnerCenterConfig.sandbox(sandbox.url), on_call=records.append
    )
    client.poll_interval = 0.1
    return client


def visible_customers(state: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in state["customers"] if not c.get("pendingInvitation")]


def api_calls(
    sandbox: SandboxControl, method: str, path_end: str
) -> list[dict[str, Any]]:
    return [
        r
        for r in sandbox.state()["requests"]
        if r["method"] == method and r["path"].endswith(path_end)
    ]


def purchasable_offer(pc: PartnerCenterClient) -> Offer:
    return next(
        o
        for o in pc.iter_offers()
        if o.is_available_for_purchase and o.product is not None and o.product.id
    )


def wait_for(check: Callable[[], Any], timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.1)


def provisioned_subscription_id(pc: PartnerCenterClient, cid: str, order: Order) -> str:
    def check() -> str | None:
        return pc.get_order(cid, order.id).line_items[0].subscription_id

    return str(wait_for(check))


def customer_with_users(state: dict[str, Any], minimum: int) -> str:
    visible = {c["id"] for c in visible_customers(state)}
    counts: dict[str, int] = {}
    for user in state["users"]:
        if user["customerId"] in visible and user.get("usageLocation"):
            counts[user["customerId"]] = counts.get(user["customerId"], 0) + 1
    cid, count = max(counts.items(), key=lambda kv: kv[1])
    assert count >= minimum
    return cid


# ------------------------------------------------------------------------- paging


def test_it_pages_every_customer_across_several_pages(
    pc: PartnerCenterClient, sandbox: SandboxControl
) -> None:
    ids = [c.id for c in pc.iter_customers(size=5)]

    expected = [c["id"] for c in visible_customers(sandbox.state())]
    assert sorted(ids) == sorted(expected)
    assert len(ids) == len(set(ids))
    pages = api_calls(sandbox, "GET", "/v1/customers")
    assert len(pages) == -(-len(expected) // 5)
    assert all("seekOperation=Next" in p["query"] for p in pages[1:])


def test_it_stops_at_the_sandboxs_error_2000_page_end(
    pc: PartnerCenterClient, sandbox: SandboxControl
) -> None:
    sandbox.settings(page_end_style="error2000")

    ids = [c.id for c in pc.iter_customers(size=5)]

    assert len(ids) == len(visible_customers(sandbox.state()))
    assert api_calls(sandbox, "GET", "/v1/customers")[-1]["status"] == 400


def test_it_pages_a_customers_users(
    pc: PartnerCenterClient, sandbox: SandboxControl
) -> None:
    state = sandbox.state()
    cid = customer_with_users(state, minimum=15)

    users = list(pc.iter_users(cid, size=7))

    expected = {u["id"] for u in state["users"] if u["customerId"] == cid}
    assert {u.id for u in users} == expected
    assert len(users) == len(expected)
    assert len(api_calls(sandbox, "GET", f"/customers/{cid}/users")) >= 3


def test_it_reads_every_customers_subscriptions_including_odd_statuses(
    pc: PartnerCenterClient, sandbox: SandboxControl
) -> None:
    statuses = {
        s.status for c in pc.iter_customers() for s in pc.list_subscriptions(c.id)
    }

    assert {"active", "suspended", "expired", "disabled"} <= statuses


def test_an_unknown_status_from_the_sandbox_is_kept(
    pc: PartnerCenterClient, sandbox: SandboxControl
) -> None:
    sub = next(
        s for s in sandbox.state()["subscriptions"] if s["partnerId"] == OUR_PARTNER_ID
    )
    sandbox.patch(
        f"/_sandbox/customers/{sub['customerId']}/subscriptions/{sub['id']}",
        {"status": "quarantined", "brandNewField": {"x": 1}},
    )

    read = pc.get_subscription(sub["customerId"], sub["id"])

    assert read.status == "quarantined"
    assert read.model_extra is not None
    assert read.model_extra["brandNewField"] == {"x": 1}


# ------------------------------------------------------------------------ orders


def test_an_order_is_provisioned_and_its_subscription_found(
    pc: PartnerCenterClient, sandbox: SandboxControl, records: list[CallRecord]
) -> None:
    cid = visible_customers(sandbox.state())[0]["id"]
    offer = purchasable_offer(pc)
    request_id = str(uuid.uuid4())

    order = pc.create_order(
        cid, [OrderLineItem(offer_id=offer.id, quantity=3)], request_id=request_id
    )
    sid = provisioned_subscription_id(pc, cid, order)

    assert order.status == "pending"
    [sub] = pc.list_subscriptions(cid, order_id=order.id)
    assert sub.id == sid and sub.quantity == 3
    status = pc.get_subscription_provisioning_status(cid, sid)
    assert offer.product is not None and status.sku_id is not None
    assert status.sku_id.lower() == str(offer.product.id).lower()
    [write] = [r for r in records if r.is_write]
    assert (write.method, write.status, write.request_id) == ("POST", 201, request_id)


def test_reusing_the_request_id_returns_the_same_order(
    pc: PartnerCenterClient, sandbox: SandboxControl
) -> None:
    # The service replays a repeated MS-RequestId (one plausible answer).
    sandbox.fidelity(duplicate_request_id="replay", order_listing_delay_seconds=0)
    cid = visible_customers(sandbox.state())[0]["id"]
    offer = purchasable_offer(pc)
    orders_before = len(pc.list_orders(cid))
    request_id = str(uuid.uuid4())
    items = [{"offerId": offer.id, "quantity": 2}]

    first = pc.create_order(cid, items, request_id=request_id)
    second = pc.create_order(cid, items, request_id=request_id)

    assert first.id == second.id
    wait_for(lambda: len(pc.list_orders(cid)) == orders_before + 1)
    posts = api_calls(sandbox, "POST", f"/customers/{cid}/orders")
    assert [p["replayed"] for p in posts] == [False, True]
    assert {p["ms_request_id"] for p in posts} == {request_id}


def test_a_lost_order_response_is_ambiguous_and_the_retry_adopts_the_order(
    pc: PartnerCenterClient, sandbox: SandboxControl
) -> None:
    # The service replays a repeated MS-RequestId (one plausible answer).
    sandbox.fidelity(duplicate_request_id="replay", order_listing_delay_seconds=0)
    cid = visible_customers(sandbox.state())[0]["id"]
    offer = purchasable_offer(pc)
    orders_before = len(pc.list_orders(cid))
    sandbox.fault(method="POST", path="/orders$", action="drop_response", count=1)
    request_id = str(uuid.uuid4())
    items = [{"offerId": offer.id, "quantity": 1}]

    with pytest.raises(TransientError) as caught:
        pc.create_order(cid, items, request_id=request_id)
    order = pc.create_order(cid, items, request_id=request_id)

    assert caught.value.ambiguous is True
    assert order.id
    wait_for(lambda: len(pc.list_orders(cid)) == orders_before + 1)


# ---------------------------------------------------------------------- licences


def test_licences_move_to_a_new_sku_in_one_call_until_seats_run_out(
    pc: PartnerCenterClient, sandbox: SandboxControl
) -> None:
    state = sandbox.state()
    cid = customer_with_users(state, minimum=2)
    first, second = [
        u
        for u in state["users"]
        if u["customerId"] == cid and u.get("usageLocation") and u["licenses"]
    ][:2]
    offer = purchasable_offer(pc)
    assert offer.product is not None and offer.product.id
    new_sku = offer.product.id
    order = pc.create_order(
        cid, [{"offerId": offer.id, "quantity": 1}], request_id=str(uuid.uuid4())
    )
    provisioned_subscription_id(pc, cid, order)
    old_sku = first["licenses"][0]

    update = pc.update_user_licenses(
        cid, first["id"], [new_sku], [old_sku], request_id=str(uuid.uuid4())
    )
    with pytest.raises(PermanentError) as caught:
        pc.update_user_licenses(
            cid, second["id"], [new_sku], [], request_id=str(uuid.uuid4())
        )

    assert update.licenses_to_assign[0].sku_id == new_sku
    assert update.license_warnings == []
    held = {str(lic.sku_id).lower() for lic in pc.get_user_licenses(cid, first["id"])}
    assert new_sku.lower() in held and old_sku.lower() not in held
    assert caught.value.status == 400 and caught.value.code == 60012
    skus = {str(s.sku_id).lower(): s for s in pc.list_subscribed_skus(cid)}
    assert skus[new_sku.lower()].consumed_units == 1
    assert skus[new_sku.lower()].available_units == 0


# ----------------------------------------------------------------- subscriptions


def test_a_subscription_is_suspended_with_a_full_object_patch(
    pc: PartnerCenterClient, sandbox: SandboxControl
) -> None:
    sub = next(
        s
        for s in sandbox.state()["subscriptions"]
        if s["partnerId"] == OUR_PARTNER_ID and s["status"] == "active"
    )
    request_id = str(uuid.uuid4())

    result = pc.suspend_subscription(
        sub["customerId"], sub["id"], request_id=request_id
    )

    assert result.status == "suspended"
    stored = next(s for s in sandbox.state()["subscriptions"] if s["id"] == sub["id"])
    assert stored["status"] == "suspended"
    [patch] = api_calls(sandbox, "PATCH", f"/subscriptions/{sub['id']}")
    assert (patch["status"], patch["ms_request_id"]) == (200, request_id)


def test_auto_renew_is_turned_off(
    pc: PartnerCenterClient, sandbox: SandboxControl
) -> None:
    sub = next(
        s
        for s in sandbox.state()["subscriptions"]
        if s["partnerId"] == OUR_PARTNER_ID
        and s["status"] == "active"
        and s["autoRenewEnabled"]
    )

    result = pc.set_auto_renew(
        sub["customerId"], sub["id"], False, request_id=str(uuid.uuid4())
    )

    assert result.auto_renew_enabled is False


def test_a_stale_etag_is_refused_with_2055(
    pc: PartnerCenterClient, sandbox: SandboxControl
) -> None:
    sub = next(
        s
        for s in sandbox.state()["subscriptions"]
        if s["partnerId"] == OUR_PARTNER_ID and s["status"] == "active"
    )

    with pytest.raises(PermanentError) as caught:
        pc.suspend_subscription(
            sub["customerId"], sub["id"], request_id=str(uuid.uuid4()), etag="stale"
        )

    assert caught.value.code == 2055


def test_another_partners_subscription_cannot_be_suspended(
    pc: PartnerCenterClient, sandbox: SandboxControl
) -> None:
    state = sandbox.state()
    visible = {c["id"] for c in visible_customers(state)}
    sub = next(
        s
        for s in state["subscriptions"]
        if s["partnerId"] == OTHER_PARTNER_ID
        and s["customerId"] in visible
        and s["status"] == "active"
    )

    with pytest.raises(Forbidden) as caught:
        pc.suspend_subscription(sub["customerId"], sub["id"], request_id="r-1")

    assert caught.value.code == 20002


# ------------------------------------------------------------- faults and limits


def test_a_429_fault_is_raised_with_its_retry_after_and_not_retried(
    pc: PartnerCenterClient, sandbox: SandboxControl
) -> None:
    cid = visible_customers(sandbox.state())[0]["id"]
    sandbox.settings(retry_after_seconds=7)
    sandbox.fault(method="GET", path="/subscriptions$", action="429", count=1)

    with pytest.raises(Throttled) as caught:
        pc.list_subscriptions(cid)

    assert caught.value.retry_after == 7.0
    assert caught.value.local is False
    assert len(api_calls(sandbox, "GET", f"/customers/{cid}/subscriptions")) == 1


def test_a_500_on_a_read_is_retried(
    pc: PartnerCenterClient, sandbox: SandboxControl
) -> None:
    cid = visible_customers(sandbox.state())[0]["id"]
    sandbox.fault(method="GET", path=f"/customers/{cid}$", action="500", count=1)

    assert pc.get_customer(cid).id.lower() == cid.lower()
    calls = api_calls(sandbox, "GET", f"/customers/{cid}")
    assert [c["status"] for c in calls] == [500, 200]


def test_a_503_on_a_write_is_ambiguous_and_not_retried(
    pc: PartnerCenterClient, sandbox: SandboxControl
) -> None:
    cid = visible_customers(sandbox.state())[0]["id"]
    sandbox.fault(method="POST", path="/orders$", action="503", count=1)

    with pytest.raises(TransientError) as caught:
        pc.create_order(cid, [{"offerId": "x", "quantity": 1}], request_id="r-503")

    assert caught.value.ambiguous is True
    assert len(api_calls(sandbox, "POST", f"/customers/{cid}/orders")) == 1


def test_a_malformed_body_raises_malformed_response(
    pc: PartnerCenterClient, sandbox: SandboxControl
) -> None:
    sandbox.fault(method="GET", path="/customers$", action="malformed_json", count=1)

    with pytest.raises(MalformedResponse):
        list(pc.iter_customers())


def test_the_shared_limiter_keeps_two_clients_under_the_sandbox_limit(
    sandbox: SandboxControl, redis_key: str
) -> None:
    sandbox.settings(rate_limit_per_minute=10)
    config = PartnerCenterConfig.sandbox(
        sandbox.url,
        rate_limit_per_minute=10,
        rate_limit_burst=5,
        rate_limit_key=redis_key,
        max_local_wait=0.0,
    )
    clients = [build_client(config, redis_url=REDIS_URL) for _ in range(2)]
    cid = visible_customers(sandbox.state())[0]["id"]

    done = 0
    with pytest.raises(Throttled) as caught:
        for i in range(20):
            clients[i % 2].get_customer(cid)
            done += 1

    assert caught.value.local is True
    assert done == 5
    assert all(r["status"] != 429 for r in sandbox.state()["requests"])


def test_without_a_limiter_the_sandbox_answers_429(
    pc: PartnerCenterClient, sandbox: SandboxControl
) -> None:
    sandbox.settings(rate_limit_per_minute=10)
    cid = visible_customers(sandbox.state())[0]["id"]

    with pytest.raises(Throttled) as caught:
        for _ in range(20):
            pc.get_customer(cid)

    assert caught.value.local is False
    assert caught.value.retry_after >= 1
    statuses = [r["status"] for r in api_calls(sandbox, "GET", f"/customers/{cid}")]
    assert statuses.count(429) == 1


# ------------------------------------------------------------------------- auth


def test_a_wrong_client_secret_raises_auth_error(sandbox: SandboxControl) -> None:
    client = build_client(
        PartnerCenterConfig.sandbox(sandbox.url, client_secret="wrong-secret")
    )

    with pytest.raises(AuthError) as caught:
        list(client.iter_customers())

    assert "wrong-secret" not in str(caught.value)


def test_the_relationship_request_carries_an_invitation_url(
    pc: PartnerCenterClient, sandbox: SandboxControl
) -> None:
    invitation = pc.get_relationship_request()

    assert invitation.url is not None
    assert "ResellerRelationship" in invitation.url


# -------------------------------------------------------------------- operations


def test_each_write_records_the_operation_its_method_performs(
    pc: PartnerCenterClient, sandbox: SandboxControl, records: list[CallRecord]
) -> None:
    state = sandbox.state()
    cid = customer_with_users(state, minimum=1)
    user = next(
        u
        for u in state["users"]
        if u["customerId"] == cid and u.get("usageLocation") and u["licenses"]
    )
    renewing = [
        s
        for s in state["subscriptions"]
        if s["partnerId"] == OUR_PARTNER_ID
        and s["status"] == "active"
        and s["autoRenewEnabled"]
    ]
    offer = purchasable_offer(pc)
    assert offer.product is not None and offer.product.id

    order = pc.create_order(
        cid, [{"offerId": offer.id, "quantity": 1}], request_id=str(uuid.uuid4())
    )
    provisioned_subscription_id(pc, cid, order)
    pc.update_user_licenses(
        cid, user["id"], [offer.product.id], [], request_id=str(uuid.uuid4())
    )
    first, second, third = renewing[:3]
    pc.suspend_subscription(first["customerId"], first["id"], request_id="s-1")
    pc.set_auto_renew(second["customerId"], second["id"], False, request_id="a-1")
    pc.update_subscription(
        third["customerId"], third["id"], {"friendlyName": "new"}, request_id="p-1"
    )
    pc.get_relationship_request()

    writes = [(r.method, r.operation) for r in records if r.is_write]
    assert writes == [
        ("POST", "order"),
        ("POST", "licence_update"),
        ("PATCH", "subscription_suspend"),
        ("PATCH", "subscription_auto_renew_off"),
        ("PATCH", "subscription_patch"),
    ]
    reads_before_patches = [
        r.operation
        for r in records
        if r.method == "GET" and "/subscriptions/" in r.path
    ]
    assert reads_before_patches == [
        "subscription_suspend",
        "subscription_auto_renew_off",
        "subscription_patch",
    ]
    assert records[-1].operation == "relationship_request"


# ----------------------------------------------------------------- refresh tokens


def test_app_user_calls_follow_one_rotating_refresh_token_chain(
    sandbox: SandboxControl,
) -> None:
    store = MemoryRefreshTokenStore("sbx-consented")
    reported: list[str] = []
    config = PartnerCenterConfig.sandbox(
        sandbox.url, refresh_token_store=store, on_refresh_token=reported.append
    )
    pc = build_client(config)
    assert pc.user_tokens is not None

    for _ in range(3):
        pc.get_relationship_request()
        pc.user_tokens.invalidate()
    pc.get_relationship_request()

    assert len(reported) == 4 and len(set(reported)) == 4
    assert store.load() == reported[-1]
    assert "sbx-consented" not in reported


def test_a_shared_client_reuses_its_access_token_across_jobs(
    sandbox: SandboxControl,
) -> None:
    store = MemoryRefreshTokenStore("sbx-consented")
    config = PartnerCenterConfig.sandbox(sandbox.url, refresh_token_store=store)
    try:
        for _ in range(5):
            job: list[CallRecord] = []
            pc = shared_client(config).with_hooks(on_call=job.append)
            pc.get_relationship_request()
            assert len(job) == 1
    finally:
        clear_shared_clients()

    # One redemption for five jobs: the rotated token was saved once.
    assert store.saved == 1
