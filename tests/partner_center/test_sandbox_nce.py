"""New commerce against the sandbox over HTTP: catalogue, carts, cancel, schedule,
transitions and the subscription → Entra skuId link.

Each test starts from a freshly reset sandbox with every scenario customer (20).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from partner_center.client import CallRecord, PartnerCenterClient
from partner_center.config import PartnerCenterConfig, build_client
from partner_center.errors import AgreementNotAccepted, PermanentError, TransientError
from partner_center.models import CartLineItem, Subscription
from tests.partner_center.support import SandboxControl

OUR_PARTNER_ID = "4847383"
INDIRECT_RESELLER = "7654321"


@pytest.fixture
def sandbox(pc_sandbox: SandboxControl) -> SandboxControl:
    pc_sandbox.reset(20, 7)
    return pc_sandbox


@pytest.fixture
def pc(sandbox: SandboxControl, records: list[CallRecord]) -> PartnerCenterClient:
    client = build_client(
        PartnerCenterConfig.sandbox(sandbox.url), on_call=records.append
    )
    client.poll_interval = 0.1
    return client


def customer(pc: PartnerCenterClient, name: str) -> str:
    return next(
        c.id
        for c in pc.iter_customers()
        if c.company_profile and c.company_profile.company_name == name
    )


def subscription(pc: PartnerCenterClient, cid: str, offer_name: str) -> Subscription:
    return next(s for s in pc.list_subscriptions(cid) if s.offer_name == offer_name)


def wait_for(check: Callable[[], Any], timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.1)


def catalog_item(pc: PartnerCenterClient, title: str) -> str:
    product = next(p for p in pc.iter_products() if p.title == title)
    [sku] = pc.list_skus(product.id)
    [availability] = pc.list_availabilities(product.id, sku.id)
    assert availability.catalog_item_id is not None
    return availability.catalog_item_id


def holders(sandbox: SandboxControl, cid: str, sku_id: str) -> set[str]:
    return {
        u["id"]
        for u in sandbox.state()["users"]
        if u["customerId"] == cid and sku_id in u["licenses"]
    }


# ------------------------------------------------------------------- catalogue


def test_the_catalogue_names_each_skus_entra_licence_and_its_terms(
    pc: PartnerCenterClient,
) -> None:
    e3 = next(p for p in pc.iter_products() if p.title == "Microsoft 365 E3")
    [sku] = pc.list_skus(e3.id)
    [availability] = pc.list_availabilities(e3.id, sku.id)
    cid = customer(pc, "Proseware Inc")
    scoped = list(pc.iter_products(customer_id=cid))

    held = subscription(pc, cid, "Microsoft 365 E3")
    link = pc.entra_sku_for(cid, held)
    assert sku.entra_sku_id == link.sku_id
    assert link.source == "provisioning_status"
    assert availability.is_purchasable is False  # end of sale
    assert ("P1Y", "annual") in {
        (t.duration, t.billing_cycle) for t in availability.terms
    }
    assert e3.id in {p.id for p in scoped}


# --------------------------------------------------------------- subscriptions


def test_an_nce_subscription_reads_with_its_term_window_and_licence(
    pc: PartnerCenterClient, sandbox: SandboxControl
) -> None:
    cid = customer(pc, "Proseware Inc")

    sub = subscription(pc, cid, "Microsoft 365 E3")
    link = pc.entra_sku_for(cid, sub)

    assert sub.is_nce and sub.catalog_parts is not None
    assert (sub.term_duration, sub.billing_cycle) == ("P1Y", "monthly")
    assert sub.commitment_end_date is not None
    assert sub.cancellation_allowed_until_date is not None
    assert sub.refundable_quantity is not None
    assert set(sub.link_uris) >= {"product", "sku", "availability"}
    assert link.sku_id is not None
    assert len(holders(sandbox, cid, link.sku_id)) == 18


def test_an_nce_subscription_is_cancelled_inside_its_window_only(
    pc: PartnerCenterClient, sandbox: SandboxControl, records: list[CallRecord]
) -> None:
    fresh_cid = customer(pc, "Best For You Organics Company")
    fresh = subscription(pc, fresh_cid, "Microsoft 365 Business Standard")
    old_cid = customer(pc, "Proseware Inc")
    old = subscription(pc, old_cid, "Microsoft 365 E3")

    cancelled = pc.cancel_subscription(
        fresh_cid, fresh.id, request_id=str(uuid.uuid4())
    )
    with pytest.raises(PermanentError) as caught:
        pc.cancel_subscription(old_cid, old.id, request_id=str(uuid.uuid4()))

    assert cancelled.status == "deleted"
    assert caught.value.status == 400
    billing = {b["subscriptionId"]: b for b in sandbox.state()["billing"]}
    assert billing[fresh.id]["billing"] == "stopped"
    assert [r.operation for r in records if r.is_write] == [
        "subscription_cancel",
        "subscription_cancel",
    ]


def test_suspending_an_nce_subscription_never_reaches_partner_center(
    pc: PartnerCenterClient, sandbox: SandboxControl
) -> None:
    cid = customer(pc, "Proseware Inc")
    sub = subscription(pc, cid, "Microsoft 365 E3")

    with pytest.raises(ValueError, match="keeps billing"):
        pc.suspend_subscription(cid, sub.id, request_id=str(uuid.uuid4()))

    patches = [r for r in sandbox.state()["requests"] if r["method"] == "PATCH"]
    assert patches == []


def test_auto_renew_is_turned_off_on_an_nce_subscription(
    pc: PartnerCenterClient,
) -> None:
    cid = customer(pc, "Proseware Inc")
    sub = subscription(pc, cid, "Microsoft 365 E3")

    after = pc.set_auto_renew(cid, sub.id, False, request_id=str(uuid.uuid4()))

    assert after.auto_renew_enabled is False
    assert pc.get_subscription(cid, sub.id).auto_renew_enabled is False


def test_a_scheduled_change_applies_at_renewal_and_moves_the_licences(
    pc: PartnerCenterClient, sandbox: SandboxControl, records: list[CallRecord]
) -> None:
    cid = customer(pc, "Graphic Design Institute")
    basic = subscription(pc, cid, "Microsoft 365 Business Basic")
    old_sku = pc.entra_sku_for(cid, basic).sku_id
    assert old_sku is not None
    users = holders(sandbox, cid, old_sku)
    standard = catalog_item(pc, "Microsoft 365 Business Standard")
    product_id, sku_id, availability_id = standard.split(":")

    scheduled = pc.schedule_next_term(
        cid,
        basic.id,
        {
            "product": {
                "productId": product_id,
                "skuId": sku_id,
                "availabilityId": availability_id,
                "billingCycle": "monthly",
                "termDuration": "P1Y",
            },
            "quantity": basic.quantity,
        },
        request_id=str(uuid.uuid4()),
    )
    sandbox.post("/_sandbox/clock", {"days": 12})
    renewed = pc.get_subscription(cid, basic.id)

    change = scheduled.scheduled_next_term_instructions
    assert change is not None and change.product is not None
    assert change.product.catalog_item_id == standard
    assert renewed.offer_id == standard
    new_sku = pc.entra_sku_for(cid, renewed).sku_id
    assert new_sku is not None and new_sku != old_sku
    assert holders(sandbox, cid, new_sku) == users
    assert [r.operation for r in records if r.is_write] == ["scheduled_change"]


# ------------------------------------------------------------------------ carts


def test_a_cart_is_bought_for_an_indirect_reseller_and_provisioned(
    pc: PartnerCenterClient, sandbox: SandboxControl, records: list[CallRecord]
) -> None:
    cid = customer(pc, "Fourth Coffee")
    item = catalog_item(pc, "Microsoft 365 E3 (no Teams)")
    before = {s.id for s in pc.list_subscriptions(cid)}

    cart = pc.create_cart(
        cid,
        [
            CartLineItem(
                catalog_item_id=item,
                quantity=4,
                term_duration="P1Y",
                billing_cycle="monthly",
                friendly_name="migration 42",
            )
        ],
        request_id=str(uuid.uuid4()),
        partner_id_on_record=INDIRECT_RESELLER,
    )
    result = pc.checkout_cart(cid, str(cart.id), request_id=str(uuid.uuid4()))
    [order] = result.orders

    def new_subscriptions() -> list[Subscription]:
        return [s for s in pc.list_subscriptions(cid) if s.id not in before]

    [bought] = wait_for(new_subscriptions)
    assert cart.status == "Active" and cart.line_errors == []
    assert result.order_errors == []
    assert pc.get_cart(cid, str(cart.id)).status == "Ordered"
    assert (bought.offer_id, bought.quantity, bought.partner_id) == (
        item,
        4,
        INDIRECT_RESELLER,
    )
    assert bought.order_id == order.id
    assert [r.operation for r in records if r.is_write] == [
        "cart_create",
        "cart_checkout",
    ]


def test_a_lost_checkout_answer_is_retried_with_its_request_id_and_buys_once(
    pc: PartnerCenterClient, sandbox: SandboxControl
) -> None:
    # The service replays a repeated MS-RequestId (one plausible answer).
    sandbox.fidelity(duplicate_request_id="replay", order_listing_delay_seconds=0)
    cid = customer(pc, "Fourth Coffee")
    item = catalog_item(pc, "Microsoft Teams Enterprise")
    cart = pc.create_cart(
        cid,
        [
            {
                "catalogItemId": item,
                "quantity": 2,
                "termDuration": "P1Y",
                "billingCycle": "monthly",
            }
        ],
        request_id=str(uuid.uuid4()),
    )
    sandbox.fault(method="POST", path="/checkout$", action="drop_response", count=1)
    request_id = str(uuid.uuid4())

    with pytest.raises(TransientError) as caught:
        pc.checkout_cart(cid, str(cart.id), request_id=request_id)
    again = pc.checkout_cart(cid, str(cart.id), request_id=request_id)

    assert caught.value.ambiguous is True
    assert len(again.orders) == 1
    orders = [o for o in sandbox.state()["orders"] if o.get("customerId") == cid]
    assert sum(1 for o in orders if o.get("msRequestId") == request_id) == 1


def test_a_cart_line_for_an_end_of_sale_sku_carries_its_error(
    pc: PartnerCenterClient,
) -> None:
    cid = customer(pc, "Fourth Coffee")
    retired = catalog_item(pc, "Microsoft 365 E3")

    cart = pc.create_cart(
        cid,
        [
            {
                "catalogItemId": retired,
                "quantity": 1,
                "termDuration": "P1Y",
                "billingCycle": "monthly",
            }
        ],
        request_id=str(uuid.uuid4()),
    )

    [(line, error)] = cart.line_errors
    assert line.catalog_item_id == retired
    assert error.error_code == 10001
    assert isinstance(error.as_error(), PermanentError)


def test_checkout_without_the_customer_agreement_says_who_must_accept_it(
    pc: PartnerCenterClient, sandbox: SandboxControl
) -> None:
    cid = customer(pc, "Fourth Coffee")
    sandbox.patch(f"/_sandbox/customers/{cid}", {"mcaAccepted": False})
    item = catalog_item(pc, "Microsoft Teams Enterprise")
    line = {
        "catalogItemId": item,
        "quantity": 1,
        "termDuration": "P1Y",
        "billingCycle": "monthly",
    }
    first = pc.create_cart(cid, [line], request_id=str(uuid.uuid4()))
    second = pc.create_cart(cid, [line], request_id=str(uuid.uuid4()))

    with pytest.raises(AgreementNotAccepted) as refused:
        pc.checkout_cart(cid, str(first.id), request_id=str(uuid.uuid4()))
    sandbox.settings(checkout_agreement_error="order_errors")
    partly = pc.checkout_cart(cid, str(second.id), request_id=str(uuid.uuid4()))

    assert refused.value.party == "customer"
    assert "Microsoft Customer Agreement" in str(refused.value)
    assert partly.orders == []
    [error] = partly.order_errors
    assert isinstance(error.as_error(), AgreementNotAccepted)


# ------------------------------------------------------------------ transitions


def test_a_transition_with_licence_transfer_completes_and_names_who_was_left(
    pc: PartnerCenterClient, sandbox: SandboxControl, records: list[CallRecord]
) -> None:
    cid = customer(pc, "Alpine Ski House")
    e1 = subscription(pc, cid, "Office 365 E1")
    old_sku = pc.entra_sku_for(cid, e1).sku_id
    assert old_sku is not None
    users = holders(sandbox, cid, old_sku)

    targets = pc.list_transition_eligibilities(cid, e1.id)
    target = next(t for t in targets if t.title == "Office 365 E3")
    started = pc.create_transition(
        cid,
        e1.id,
        {
            "toCatalogItemId": target.catalog_item_id,
            "transitionType": "transition_with_license_transfer",
        },
        request_id=str(uuid.uuid4()),
    )

    # As documented, the answer names no operation: the listing does.
    assert started.operation_id is None and not started.finished

    def finished() -> Any:
        [done] = pc.list_transitions(cid, e1.id)
        return done if done.finished else None

    done = wait_for(finished)
    assert done.operation_id
    assert target.transfers_licences
    assert not done.failed
    left = [e for e in done.event_errors if e.code == 12]
    assert len(left) == 2
    # A full transition converts the subscription in place: no target id.
    assert done.to_subscription_id is None
    new = pc.get_subscription(cid, e1.id)
    assert (new.status, new.offer_id) == ("active", target.catalog_item_id)
    new_sku = pc.entra_sku_for(cid, new).sku_id
    assert new_sku is not None and new_sku != old_sku
    assert len(holders(sandbox, cid, new_sku)) == len(users) - 2
    assert [r.operation for r in records if r.is_write] == ["transition"]
