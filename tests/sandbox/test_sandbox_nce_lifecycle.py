"""New-commerce subscriptions over time: cancellation inside the 168-hour window,
suspension that keeps billing, seat changes, scheduled changes, renewals and the
clock under /_sandbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sandbox import products
from sandbox.seed import BEST_FOR_YOU, FOURTH_COFFEE, GRAPHIC_DESIGN, MARGIES_TRAVEL

STANDARD = products.sku(products.BUSINESS_STANDARD)
BASIC = products.sku(products.BUSINESS_BASIC)


def _subs(api: Any, name: str) -> tuple[str, dict[str, dict[str, Any]]]:
    """Return a scenario's id and its subscriptions (API JSON) by offer name."""
    cid = api.scenario(name)["id"]
    items = api.get(f"/customers/{cid}/subscriptions").json()["items"]
    return cid, {s["offerName"]: s for s in items}


def _billing(api: Any, sub_id: str) -> dict[str, Any]:
    """Return the state dump's billing row of a subscription."""
    return next(b for b in api.dump()["billing"] if b["subscriptionId"] == sub_id)


def test_a_cancellation_inside_the_window_refunds_and_stops_billing(api: Any) -> None:
    cid, subs = _subs(api, BEST_FOR_YOU)
    sub = subs[STANDARD.title]
    assert sub["refundableQuantity"]["totalQuantity"] == 10
    response = api.patch(
        f"/customers/{cid}/subscriptions/{sub['id']}", json={"status": "deleted"}
    )
    assert response.status_code == 200
    cancelled = response.json()
    assert cancelled["status"] == "deleted"
    assert cancelled["refundableQuantity"]["totalQuantity"] == 0
    billing = _billing(api, sub["id"])
    assert billing["billing"] == "stopped"
    assert billing["events"][-1]["event"] == "cancelled"
    assert billing["events"][-1]["refundedQuantity"] == 10
    units = {
        s["productSku"]["id"]: s
        for s in api.get(f"/customers/{cid}/subscribedskus").json()["items"]
    }
    assert units[STANDARD.entra_sku_id]["activeUnits"] == 0


def test_after_the_window_a_cancellation_is_refused(api: Any) -> None:
    cid, subs = _subs(api, BEST_FOR_YOU)
    sub = subs[BASIC.title]
    until = datetime.strptime(sub["cancellationAllowedUntilDate"], "%Y-%m-%dT%H:%M:%SZ")
    api.control(
        "POST", "/clock", {"now": (until + timedelta(hours=1)).isoformat() + "Z"}
    )
    refused = api.patch(
        f"/customers/{cid}/subscriptions/{sub['id']}", json={"status": "deleted"}
    )
    assert refused.status_code == 400
    assert refused.json()["code"] == 800096
    assert "cancelled until" in refused.json()["description"]
    after = api.get(f"/customers/{cid}/subscriptions/{sub['id']}").json()
    assert after["status"] == "active" and after["refundOptions"] == []


def test_a_suspended_new_commerce_subscription_keeps_billing(api: Any) -> None:
    cid, subs = _subs(api, FOURTH_COFFEE)
    seeded = subs["Microsoft 365 Business Premium"]
    assert seeded["status"] == "suspended"
    assert _billing(api, seeded["id"])["billing"] == "billing"
    exchange = subs["Exchange Online (Plan 1)"]
    path = f"/customers/{cid}/subscriptions/{exchange['id']}"
    assert api.patch(path, json={"status": "suspended"}).json()["status"] == "suspended"
    row = _billing(api, exchange["id"])
    assert row["billing"] == "billing"
    assert row["billedThrough"] == exchange["commitmentEndDate"]
    assert row["events"][-1]["event"] == "suspended"
    legacy = next(b for b in api.dump()["billing"] if b["commerce"] == "legacy")
    assert legacy["billing"] in ("billing", "stopped")


def test_added_seats_are_refundable_for_seven_days_and_older_ones_are_not(
    api: Any,
) -> None:
    cid, subs = _subs(api, GRAPHIC_DESIGN)
    sub = subs[BASIC.title]
    path = f"/customers/{cid}/subscriptions/{sub['id']}"
    more = api.patch(path, json={"quantity": 18}).json()
    assert more["refundableQuantity"]["totalQuantity"] == 3
    fewer = api.patch(path, json={"quantity": 16}).json()
    assert (fewer["quantity"], fewer["refundableQuantity"]["totalQuantity"]) == (16, 1)
    refused = api.patch(path, json={"quantity": 10})
    assert refused.status_code == 400 and refused.json()["code"] == 800090


def test_a_scheduled_change_is_applied_at_renewal_and_moves_the_licences(
    api: Any,
) -> None:
    cid, subs = _subs(api, GRAPHIC_DESIGN)
    sub = subs[BASIC.title]
    path = f"/customers/{cid}/subscriptions/{sub['id']}"
    sub["scheduledNextTermInstructions"] = {
        "product": {
            "productId": STANDARD.product_id,
            "skuId": STANDARD.sku_id,
            "availabilityId": STANDARD.availability_id,
            "billingCycle": "Annual",
            "termDuration": "P1Y",
        },
        "quantity": 15,
    }
    scheduled = api.patch(path, json=sub)
    assert scheduled.status_code == 200, scheduled.text
    assert (
        scheduled.json()["scheduledNextTermInstructions"]["product"]["skuId"] == "0001"
    )
    assert api.get(path).json()["offerId"] == BASIC.catalog_item_id

    clock = api.control("POST", "/clock", {"days": 14}).json()
    assert sub["id"] in clock["renewed"]
    renewed = api.get(path).json()
    assert renewed["offerId"] == STANDARD.catalog_item_id
    assert renewed["billingCycle"] == "annual"
    assert "scheduledNextTermInstructions" not in renewed
    assert renewed["refundableQuantity"]["totalQuantity"] == 15
    assert renewed["effectiveStartDate"] > sub["effectiveStartDate"]
    users = api.scenario(GRAPHIC_DESIGN)["users"]
    assert all(STANDARD.entra_sku_id in u["licenses"] for u in users)
    assert not any(BASIC.entra_sku_id in u["licenses"] for u in users)


def test_a_scheduled_change_needs_auto_renew_and_a_mid_term_change_drops_it(
    api: Any,
) -> None:
    cid, subs = _subs(api, GRAPHIC_DESIGN)
    sub = subs[BASIC.title]
    path = f"/customers/{cid}/subscriptions/{sub['id']}"
    change = {
        "product": {"productId": STANDARD.product_id, "skuId": STANDARD.sku_id},
        "quantity": 15,
    }
    refused = api.patch(
        path, json={"autoRenewEnabled": False, "scheduledNextTermInstructions": change}
    )
    assert refused.status_code == 400 and refused.json()["code"] == 800002
    wrong = api.patch(
        path,
        json={
            "scheduledNextTermInstructions": {
                "product": {"productId": "X", "skuId": "1"}
            }
        },
    )
    assert wrong.status_code == 400
    assert (
        api.patch(path, json={"scheduledNextTermInstructions": change}).status_code
        == 200
    )
    dropped = api.patch(path, json={"quantity": 16}).json()
    assert "scheduledNextTermInstructions" not in dropped


def test_a_term_renews_with_a_new_cancellation_window_or_expires_without_auto_renew(
    api: Any,
) -> None:
    cid, subs = _subs(api, MARGIES_TRAVEL)
    plan = subs["Dynamics 365 Customer Engagement Plan"]
    monthly = subs["Microsoft 365 Business Premium"]
    end = datetime.strptime(plan["commitmentEndDate"], "%Y-%m-%dT%H:%M:%SZ")
    later = (end + timedelta(days=2)).replace(tzinfo=UTC)
    clock = api.control("POST", "/clock", {"now": later.isoformat()}).json()
    assert clock["now"] == later.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert plan["id"] in clock["expired"] and monthly["id"] in clock["renewed"]
    expired = api.get(f"/customers/{cid}/subscriptions/{plan['id']}").json()
    assert expired["status"] == "expired"
    assert _billing(api, plan["id"])["billing"] == "stopped"
    renewed = api.get(f"/customers/{cid}/subscriptions/{monthly['id']}").json()
    start = datetime.strptime(renewed["effectiveStartDate"], "%Y-%m-%dT%H:%M:%SZ")
    assert renewed["status"] == "active" and start.replace(tzinfo=UTC) <= later
    window = datetime.strptime(
        renewed["cancellationAllowedUntilDate"], "%Y-%m-%dT%H:%M:%SZ"
    )
    assert window - start == timedelta(hours=168)


def test_the_clock_can_be_read_set_advanced_and_reset(api: Any) -> None:
    before = api.control("GET", "/clock").json()
    assert before["offsetSeconds"] == 0
    moved = api.control("POST", "/clock", {"days": 1, "hours": 2}).json()
    assert moved["offsetSeconds"] == 93600
    assert api.dump()["clock"]["offsetSeconds"] == 93600
    assert api.control("POST", "/clock", {"reset": True}).json()["offsetSeconds"] == 0
    assert api.control("POST", "/clock", {"weeks": 1}).status_code == 400
    assert api.control("POST", "/clock", {"now": "not a date"}).status_code == 400


def test_a_subscription_is_tied_to_the_licence_it_grants(api: Any) -> None:
    cid, subs = _subs(api, FOURTH_COFFEE)
    sub = subs["Exchange Online (Plan 1)"]
    status = api.get(
        f"/customers/{cid}/subscriptions/{sub['id']}/provisioningstatus"
    ).json()
    skus = api.get(f"/customers/{cid}/subscribedskus").json()["items"]
    (row,) = [s for s in skus if s["productSku"]["id"] == status["skuId"]]
    assert row["productSku"]["skuPartNumber"] == "EXCHANGESTANDARD"
    assert row["activeUnits"] == sub["quantity"] == 4
