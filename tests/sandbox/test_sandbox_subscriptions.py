"""Subscriptions: reads, provisioning status and the PATCH rules."""

from __future__ import annotations

from typing import Any

from sandbox import catalog
from sandbox.seed import ADVENTURE_WORKS, CONTOSO, FABRIKAM, NORTHWIND, TAILSPIN

SUBSCRIPTION_FIELDS = {
    "id",
    "offerId",
    "offerName",
    "friendlyName",
    "quantity",
    "unitType",
    "creationDate",
    "effectiveStartDate",
    "commitmentEndDate",
    "status",
    "autoRenewEnabled",
    "billingType",
    "billingCycle",
    "termDuration",
    "contractType",
    "partnerId",
    "orderId",
    "suspensionReasons",
    "links",
    "attributes",
}


def _retired_subscription(api: Any, name: str) -> tuple[str, dict[str, Any]]:
    """Return (customer id, subscription JSON) of a scenario's first subscription."""
    tenant = api.scenario(name)
    sub = next(s for s in tenant["subscriptions"] if s["offerId"])
    body = api.get(f"/customers/{tenant['id']}/subscriptions/{sub['id']}").json()
    return tenant["id"], body


def test_it_lists_a_customers_subscriptions_with_every_documented_field(
    api: Any,
) -> None:
    fabrikam = api.scenario(FABRIKAM)
    body = api.get(f"/customers/{fabrikam['id']}/subscriptions").json()
    assert body["totalCount"] == 2
    for item in body["items"]:
        assert set(item) >= SUBSCRIPTION_FIELDS
        assert item["attributes"]["objectType"] == "Subscription"
        assert item["attributes"]["etag"]
    assert body["attributes"]["objectType"] == "Collection"


def test_it_filters_subscriptions_by_order_id(api: Any) -> None:
    fabrikam = api.scenario(FABRIKAM)
    order_id = fabrikam["subscriptions"][0]["orderId"]
    body = api.get(
        f"/customers/{fabrikam['id']}/subscriptions?order_id={order_id}"
    ).json()
    assert [s["orderId"] for s in body["items"]] == [order_id]


def test_provisioning_status_gives_the_sku_id_of_the_offer(api: Any) -> None:
    cid, sub = _retired_subscription(api, CONTOSO)
    body = api.get(
        f"/customers/{cid}/subscriptions/{sub['id']}/provisioningstatus"
    ).json()
    assert body["skuId"] == catalog.offer_by_name(catalog.AX_ENTERPRISE)["skuId"]
    assert body["attributes"]["objectType"] == "SubscriptionProvisioningStatus"


def test_an_unknown_subscription_is_404_with_code_20003(api: Any) -> None:
    contoso = api.scenario(CONTOSO)
    response = api.get(
        f"/customers/{contoso['id']}/subscriptions/11111111-2222-3333-4444-555555555555"
    )
    assert response.status_code == 404
    assert response.json()["code"] == 20003


def test_it_suspends_with_a_full_pascal_case_body_and_changes_the_etag(
    api: Any,
) -> None:
    cid, sub = _retired_subscription(api, CONTOSO)
    full = {key[0].upper() + key[1:]: value for key, value in sub.items()}
    full["Status"] = "Suspended"
    full["Attributes"] = {
        "Etag": sub["attributes"]["etag"],
        "ObjectType": "Subscription",
    }
    response = api.patch(
        f"/customers/{cid}/subscriptions/{sub['id']}",
        json=full,
        headers={"If-Match": sub["attributes"]["etag"]},
    )
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["status"] == "suspended"
    assert updated["quantity"] == 15
    assert updated["attributes"]["etag"] != sub["attributes"]["etag"]
    again = api.get(f"/customers/{cid}/subscriptions/{sub['id']}").json()
    assert again["status"] == "suspended"


def test_a_sparse_body_turns_auto_renew_off(api: Any) -> None:
    fabrikam = api.scenario(FABRIKAM)
    crm = next(
        s
        for s in fabrikam["subscriptions"]
        if s["offerName"] == catalog.CRM_PROFESSIONAL
    )
    response = api.patch(
        f"/customers/{fabrikam['id']}/subscriptions/{crm['id']}",
        json={"autoRenewEnabled": False, "quantity": 0},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["autoRenewEnabled"] is False
    assert body["quantity"] == crm["quantity"]


def test_every_update_changes_the_etag_and_a_stale_etag_is_refused(api: Any) -> None:
    cid, sub = _retired_subscription(api, CONTOSO)
    path = f"/customers/{cid}/subscriptions/{sub['id']}"
    first = api.patch(path, json={"friendlyName": "AX main"})
    assert first.status_code == 200
    stale = api.patch(
        path,
        json={"friendlyName": "AX again"},
        headers={"If-Match": sub["attributes"]["etag"]},
    )
    assert stale.status_code == 400
    assert stale.json()["code"] == 2055
    fresh = api.patch(
        path,
        json={"friendlyName": "AX again"},
        headers={"If-Match": f'"{first.json()["attributes"]["etag"]}"'},
    )
    assert fresh.status_code == 200
    assert fresh.json()["friendlyName"] == "AX again"


def test_it_refuses_to_patch_another_partners_subscription(api: Any) -> None:
    cid, sub = _retired_subscription(api, NORTHWIND)
    assert sub["partnerId"] == "9988776"
    response = api.patch(
        f"/customers/{cid}/subscriptions/{sub['id']}", json={"status": "suspended"}
    )
    assert response.status_code == 403
    body = response.json()
    assert body["code"] == 20002 and body["source"] == "PartnerFD"
    assert api.get(f"/customers/{cid}/subscriptions/{sub['id']}").json()["status"] == (
        "active"
    )


def test_expired_and_disabled_subscriptions_cannot_be_updated(api: Any) -> None:
    tenant = api.scenario(ADVENTURE_WORKS)
    for sub in tenant["subscriptions"]:
        response = api.patch(
            f"/customers/{tenant['id']}/subscriptions/{sub['id']}",
            json={"status": "suspended"},
        )
        assert response.status_code == 400
        assert response.json()["code"] == 800040


def test_a_deleted_subscription_cannot_be_updated(api: Any) -> None:
    cid, sub = _retired_subscription(api, CONTOSO)
    path = f"/customers/{cid}/subscriptions/{sub['id']}"
    assert api.patch(path, json={"status": "deleted"}).status_code == 200
    response = api.patch(path, json={"status": "active"})
    assert response.status_code == 400
    assert response.json()["code"] == 2011


def test_a_suspended_subscription_can_be_reactivated_but_not_resized(api: Any) -> None:
    cid, sub = _retired_subscription(api, TAILSPIN)
    path = f"/customers/{cid}/subscriptions/{sub['id']}"
    resize = api.patch(path, json={"quantity": 9})
    assert resize.status_code == 400 and resize.json()["code"] == 2001
    renew = api.patch(path, json={"autoRenewEnabled": True})
    assert renew.status_code == 400 and renew.json()["code"] == 800091
    renamed = api.patch(path, json={"autoRenewEnabled": False, "friendlyName": "x"})
    assert renamed.status_code == 200  # auto-renew unchanged; a rename is allowed
    back = api.patch(path, json={"status": "active"})
    assert back.status_code == 200
    assert back.json()["status"] == "active"
    assert back.json()["suspensionReasons"] == []


def test_quantity_outside_the_offer_limits_is_refused(api: Any) -> None:
    cid, sub = _retired_subscription(api, CONTOSO)
    response = api.patch(
        f"/customers/{cid}/subscriptions/{sub['id']}", json={"quantity": 20000}
    )
    assert response.status_code == 400 and response.json()["code"] == 2002


def test_auto_renew_cannot_be_turned_on_for_a_retired_offer(api: Any) -> None:
    cid, sub = _retired_subscription(api, CONTOSO)
    response = api.patch(
        f"/customers/{cid}/subscriptions/{sub['id']}", json={"autoRenewEnabled": True}
    )
    assert response.status_code == 400 and response.json()["code"] == 800093


def test_control_patch_merges_raw_fields_such_as_unknown_statuses(api: Any) -> None:
    cid, sub = _retired_subscription(api, CONTOSO)
    merged = api.control(
        "PATCH",
        f"/customers/{cid}/subscriptions/{sub['id']}",
        {"status": "frozen_by_microsoft"},
    )
    assert merged.status_code == 200
    body = api.get(f"/customers/{cid}/subscriptions/{sub['id']}").json()
    assert body["status"] == "frozen_by_microsoft"
    assert body["attributes"]["etag"] != sub["attributes"]["etag"]
