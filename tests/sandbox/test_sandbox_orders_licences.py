"""Orders (provisioning delay), subscribed SKUs and licence updates."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sandbox import catalog
from sandbox.seed import CONTOSO, LITWARE, NO_SUBSCRIPTIONS, TAILSPIN, WIDE_WORLD
from sandbox.server import SandboxServer

UNIFIED_OPS = catalog.offer_by_name(catalog.D365_UNIFIED_OPERATIONS)
CUSTOMER_ENGAGEMENT = catalog.offer_by_name(catalog.D365_CUSTOMER_ENGAGEMENT)
AX_ENTERPRISE = catalog.offer_by_name(catalog.AX_ENTERPRISE)
CRM_ENTERPRISE = catalog.offer_by_name(catalog.CRM_ENTERPRISE)


def _order(offer_id: str, quantity: int, **extra: Any) -> dict[str, Any]:
    """Return a one-line order body."""
    line = {"lineItemNumber": 0, "offerId": offer_id, "quantity": quantity}
    line.update(extra)
    return {"billingCycle": "monthly", "lineItems": [line]}


def _skus(api: Any, cid: str) -> dict[str, dict[str, Any]]:
    """Return the customer's subscribed SKUs keyed by skuId."""
    body = api.get(f"/customers/{cid}/subscribedskus").json()
    return {item["productSku"]["id"]: item for item in body["items"]}


def test_a_new_subscription_appears_only_after_the_provisioning_delay(
    start: Callable[..., SandboxServer], make_api: Callable[..., Any]
) -> None:
    api = make_api(start(provisioning_delay_seconds=0.6, order_listing_delay_seconds=0))
    contoso = api.scenario(CONTOSO)
    cid = contoso["id"]
    created = api.post(f"/customers/{cid}/orders", json=_order(UNIFIED_OPS["id"], 15))
    assert created.status_code == 201, created.text
    order = created.json()
    assert order["status"] == "pending"
    assert "subscriptionId" not in order["lineItems"][0]
    assert order["attributes"]["objectType"] == "Order"

    subs = api.get(f"/customers/{cid}/subscriptions").json()["items"]
    assert {s["offerId"] for s in subs} == {AX_ENTERPRISE["id"]}
    by_order = api.get(f"/customers/{cid}/subscriptions?order_id={order['id']}").json()
    assert by_order["items"] == []

    time.sleep(0.8)
    done = api.get(f"/customers/{cid}/orders/{order['id']}").json()
    assert done["status"] == "completed"
    sub_id = done["lineItems"][0]["subscriptionId"]
    sub = api.get(f"/customers/{cid}/subscriptions/{sub_id}").json()
    assert sub["offerId"] == UNIFIED_OPS["id"]
    assert sub["status"] == "active" and sub["quantity"] == 15
    assert sub["orderId"] == order["id"]
    status = api.get(f"/customers/{cid}/subscriptions/{sub_id}/provisioningstatus")
    assert status.json()["skuId"] == UNIFIED_OPS["skuId"]
    orders = api.get(f"/customers/{cid}/orders").json()["items"]
    assert order["id"] in {o["id"] for o in orders}


def test_a_pascal_case_order_body_is_accepted(api: Any) -> None:
    cid = api.scenario(NO_SUBSCRIPTIONS)["id"]
    body = {
        "BillingCycle": "Monthly",
        "LineItems": [
            {"LineItemNumber": 0, "OfferId": UNIFIED_OPS["id"].lower(), "Quantity": 2}
        ],
    }
    response = api.post(f"/customers/{cid}/orders", json=body)
    assert response.status_code == 201, response.text
    assert response.json()["billingCycle"] == "monthly"


def test_a_retired_offer_cannot_be_ordered(api: Any) -> None:
    cid = api.scenario(CONTOSO)["id"]
    response = api.post(f"/customers/{cid}/orders", json=_order(AX_ENTERPRISE["id"], 5))
    assert response.status_code == 403
    assert response.json()["code"] == 2091


def test_order_validation_errors_use_documented_codes(api: Any) -> None:
    cid = api.scenario(CONTOSO)["id"]
    path = f"/customers/{cid}/orders"
    unknown = api.post(path, json=_order("00000000-0000-0000-0000-000000000000", 1))
    assert unknown.status_code == 400 and unknown.json()["code"] == 800004
    too_many = api.post(path, json=_order(UNIFIED_OPS["id"], 10001))
    assert too_many.status_code == 403 and too_many.json()["code"] == 800067
    zero = api.post(path, json=_order(UNIFIED_OPS["id"], 0))
    assert zero.status_code == 400
    numbering = {
        "lineItems": [
            {"lineItemNumber": 1, "offerId": UNIFIED_OPS["id"], "quantity": 1},
            {"lineItemNumber": 2, "offerId": UNIFIED_OPS["id"], "quantity": 1},
        ]
    }
    bad = api.post(path, json=numbering)
    assert bad.status_code == 400 and bad.json()["code"] == 800071
    assert api.get(f"/customers/{cid}/orders").json()["totalCount"] == 1


def test_subscribed_skus_add_active_and_suspended_units_and_count_consumed(
    api: Any,
) -> None:
    cid = api.scenario(CONTOSO)["id"]
    ax = _skus(api, cid)[AX_ENTERPRISE["skuId"]]
    assert (ax["totalUnits"], ax["activeUnits"], ax["consumedUnits"]) == (15, 15, 12)
    assert (ax["availableUnits"], ax["suspendedUnits"]) == (3, 0)
    assert ax["productSku"]["skuPartNumber"] == AX_ENTERPRISE["skuPartNumber"]
    assert ax["productSku"]["targetType"] == "User"

    api.post(f"/customers/{cid}/orders", json=_order(UNIFIED_OPS["id"], 10))
    skus = _skus(api, cid)
    new = skus[UNIFIED_OPS["skuId"]]
    assert (new["totalUnits"], new["consumedUnits"], new["availableUnits"]) == (
        10,
        0,
        10,
    )

    sub = api.scenario(CONTOSO)["subscriptions"][0]
    api.patch(
        f"/customers/{cid}/subscriptions/{sub['id']}", json={"status": "suspended"}
    )
    ax = _skus(api, cid)[AX_ENTERPRISE["skuId"]]
    assert (ax["activeUnits"], ax["suspendedUnits"], ax["totalUnits"]) == (0, 15, 0)
    assert ax["consumedUnits"] == 12 and ax["availableUnits"] == 0


def test_suspended_seats_count_as_suspended_units(api: Any) -> None:
    cid = api.scenario(TAILSPIN)["id"]
    (row,) = _skus(api, cid).values()
    assert row["suspendedUnits"] == 6 and row["activeUnits"] == 0


def test_it_swaps_a_licence_in_one_call(api: Any) -> None:
    contoso = api.scenario(CONTOSO)
    cid = contoso["id"]
    api.post(f"/customers/{cid}/orders", json=_order(UNIFIED_OPS["id"], 15))
    user = contoso["users"][0]
    body = {
        "licensesToAssign": [{"skuId": UNIFIED_OPS["skuId"], "excludedPlans": None}],
        "licensesToRemove": [AX_ENTERPRISE["skuId"]],
        "attributes": {"objectType": "LicenseUpdate"},
    }
    response = api.post(
        f"/customers/{cid}/users/{user['id']}/licenseupdates", json=body
    )
    assert response.status_code == 201, response.text
    assert response.json()["licensesToAssign"][0]["skuId"] == UNIFIED_OPS["skuId"]
    assert response.json()["attributes"]["objectType"] == "LicenseUpdate"
    licences = api.get(f"/customers/{cid}/users/{user['id']}/licenses").json()
    (only,) = licences["items"]
    assert only["productSku"]["id"] == UNIFIED_OPS["skuId"]
    assert only["productSku"]["licenseGroupId"] == "group1"
    assert only["servicePlans"] and only["attributes"]["objectType"] == "License"
    skus = _skus(api, cid)
    assert skus[AX_ENTERPRISE["skuId"]]["consumedUnits"] == 11
    assert skus[UNIFIED_OPS["skuId"]]["consumedUnits"] == 1


def test_assigning_without_free_seats_answers_60012(api: Any) -> None:
    litware = api.scenario(LITWARE)
    cid = litware["id"]
    api.post(f"/customers/{cid}/orders", json=_order(CUSTOMER_ENGAGEMENT["id"], 1))
    body = {"licensesToAssign": [{"skuId": CUSTOMER_ENGAGEMENT["skuId"]}]}
    first, second = litware["users"][:2]
    ok = api.post(f"/customers/{cid}/users/{first['id']}/licenseupdates", json=body)
    assert ok.status_code == 201
    refused = api.post(
        f"/customers/{cid}/users/{second['id']}/licenseupdates", json=body
    )
    assert refused.status_code == 400
    error = refused.json()
    assert error["code"] == 60012
    assert "run out of licenses" in error["description"]
    assert error["data"][0].startswith("LicenseQuotaExceededException : ")
    assert error["source"] == "PartnerFD"
    # Nothing was assigned by the refused call.
    assert _skus(api, cid)[CUSTOMER_ENGAGEMENT["skuId"]]["consumedUnits"] == 1
    crm_free = _skus(api, cid)[CRM_ENTERPRISE["skuId"]]["availableUnits"]
    assert crm_free == 0


def test_a_user_without_usage_location_cannot_be_assigned(api: Any) -> None:
    wide = api.scenario(WIDE_WORLD)
    cid = wide["id"]
    api.post(f"/customers/{cid}/orders", json=_order(UNIFIED_OPS["id"], 20))
    lacking = next(u for u in wide["users"] if not u["usageLocation"])
    response = api.post(
        f"/customers/{cid}/users/{lacking['id']}/licenseupdates",
        json={
            "licensesToAssign": [{"skuId": UNIFIED_OPS["skuId"]}],
            "licensesToRemove": [AX_ENTERPRISE["skuId"]],
        },
    )
    assert response.status_code == 400
    assert "usage location" in response.json()["description"]
    licences = api.get(f"/customers/{cid}/users/{lacking['id']}/licenses").json()
    held = {i["productSku"]["id"] for i in licences["items"]}
    assert AX_ENTERPRISE["skuId"] in held and UNIFIED_OPS["skuId"] not in held
    fixed = api.control(
        "PATCH", f"/customers/{cid}/users/{lacking['id']}", {"usageLocation": "US"}
    )
    assert fixed.status_code == 200
    retry = api.post(
        f"/customers/{cid}/users/{lacking['id']}/licenseupdates",
        json={"licensesToAssign": [{"skuId": UNIFIED_OPS["skuId"]}]},
    )
    assert retry.status_code == 201


def test_an_unknown_user_is_404_with_code_60002(api: Any) -> None:
    cid = api.scenario(CONTOSO)["id"]
    response = api.post(
        f"/customers/{cid}/users/99999999-9999-9999-9999-999999999999/licenseupdates",
        json={"licensesToAssign": [{"skuId": UNIFIED_OPS["skuId"]}]},
    )
    assert response.status_code == 404 and response.json()["code"] == 60002
    assert (
        api.get(
            f"/customers/{cid}/users/99999999-9999-9999-9999-999999999999"
        ).status_code
        == 404
    )


def test_relationship_request_carries_our_partner_id(api: Any) -> None:
    from sandbox.state import PARTNER_TENANT_ID

    body = api.get("/customers/relationshiprequests").json()
    assert f"partnerId={PARTNER_TENANT_ID}" in body["url"]
    assert body["url"].startswith("https://admin.microsoft.com/Adminportal/Home?")
    assert body["attributes"]["objectType"] == "RelationshipRequest"
