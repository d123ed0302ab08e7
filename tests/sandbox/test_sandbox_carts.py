"""Buying new-commerce seats: carts, checkout with per-line errors, the Microsoft
Customer Agreement, MS-RequestId de-duplication, and orders of modern items."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from sandbox import products
from sandbox.seed import BEST_FOR_YOU, CONTOSO, PROSEWARE

NO_TEAMS = products.sku(products.M365_E3_NO_TEAMS)
TEAMS = products.sku(products.TEAMS_ENTERPRISE)


def _line(sku: products.Sku, quantity: int = 20, **extra: Any) -> dict[str, Any]:
    """Return a cart line item body."""
    line = {
        "catalogItemId": sku.catalog_item_id,
        "quantity": quantity,
        "termDuration": "P1Y",
        "billingCycle": "Monthly",
    }
    line.update(extra)
    return line


def _cart(api: Any, cid: str, *lines: dict[str, Any]) -> dict[str, Any]:
    """Create a cart and return its JSON."""
    response = api.post(f"/customers/{cid}/carts", json={"lineItems": list(lines)})
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_a_cart_checks_out_into_new_commerce_subscriptions(api: Any) -> None:
    cid = api.scenario(PROSEWARE)["id"]
    cart = _cart(api, cid, _line(NO_TEAMS), _line(TEAMS))
    assert cart["status"] == "Active" and cart["attributes"]["objectType"] == "Cart"
    assert [line["orderGroup"] for line in cart["lineItems"]] == ["0", "0"]
    assert all("error" not in line for line in cart["lineItems"])
    assert api.get(f"/customers/{cid}/carts/{cart['id']}").json() == cart

    result = api.post(f"/customers/{cid}/carts/{cart['id']}/checkout")
    assert result.status_code == 201
    body = result.json()
    assert body["orderErrors"] == []
    (order,) = body["orders"]
    created = {line["subscriptionId"] for line in order["lineItems"]}
    subs = {
        s["id"]: s for s in api.get(f"/customers/{cid}/subscriptions").json()["items"]
    }
    assert created <= set(subs)
    for sub_id in created:
        sub = subs[sub_id]
        assert sub["productType"]["id"] == "OnlineServicesNCE"
        assert (sub["termDuration"], sub["billingCycle"]) == ("P1Y", "monthly")
        assert sub["refundableQuantity"]["totalQuantity"] == 20
        assert sub["refundOptions"][0]["type"] == "Full"
        assert set(sub["links"]) == {"product", "sku", "availability", "self"}
    assert api.get(f"/customers/{cid}/carts/{cart['id']}").json()["status"] == "Ordered"


def test_a_checkout_is_never_placed_twice(api: Any) -> None:
    api.settings(duplicate_request_id="replay", order_listing_delay_seconds=0)
    cid = api.scenario(PROSEWARE)["id"]
    cart = _cart(api, cid, _line(NO_TEAMS))
    path = f"/customers/{cid}/carts/{cart['id']}/checkout"
    headers = {"MS-RequestId": str(uuid.uuid4())}
    first = api.post(path, headers=headers)
    again = api.post(path, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    other = api.post(path, headers={"MS-RequestId": str(uuid.uuid4())})
    assert other.status_code == 409 and other.json()["code"] == 800064
    api.control("POST", "/clock", {"seconds": 31})
    other = api.post(path, headers={"MS-RequestId": str(uuid.uuid4())})
    assert other.status_code == 400 and other.json()["code"] == 800065
    orders = api.get(f"/customers/{cid}/orders").json()["items"]
    assert (
        sum(
            1
            for o in orders
            if o["lineItems"][0]["offerId"] == NO_TEAMS.catalog_item_id
        )
        == 1
    )


def test_a_checkout_whose_answer_is_lost_is_replayed_not_bought_again(
    api: Any,
) -> None:
    api.settings(duplicate_request_id="replay")
    cid = api.scenario(PROSEWARE)["id"]
    cart = _cart(api, cid, _line(TEAMS, 4))
    path = f"/customers/{cid}/carts/{cart['id']}/checkout"
    api.fault(method="POST", path="/checkout$", action="drop_response")
    headers = {"MS-RequestId": str(uuid.uuid4())}
    with pytest.raises(requests.ConnectionError):
        api.post(path, headers=headers)
    (write,) = [w for w in api.dump()["writes"] if w["path"].endswith("/checkout")]
    assert write["ms_request_id"] == headers["MS-RequestId"]
    retry = api.post(path, headers=headers)
    assert retry.status_code == 201
    teams = [
        s
        for s in api.get(f"/customers/{cid}/subscriptions").json()["items"]
        if s["offerId"] == TEAMS.catalog_item_id
    ]
    assert [s["id"] for s in teams] == [
        retry.json()["orders"][0]["lineItems"][0]["subscriptionId"]
    ]


def test_lines_that_cannot_be_bought_carry_errors_and_fail_their_order_group(
    api: Any,
) -> None:
    cid = api.scenario(PROSEWARE)["id"]
    retired = products.sku(products.M365_E3)
    attach = products.sku(products.D365_CUSTOMER_SERVICE_ATTACH)
    cart = _cart(
        api,
        cid,
        _line(NO_TEAMS, 5),
        _line(retired, 5, billingCycle="Annual"),
        _line(NO_TEAMS, 20000, billingCycle="Annual"),
        _line(TEAMS, 5, termDuration="P1M", billingCycle="Triennial"),
        {"catalogItemId": "NOPE:0001:NOPE", "quantity": 1, "billingCycle": "Triennial"},
        _line(attach, 3, billingCycle="Annual"),
    )
    errors = [line.get("error", {}).get("errorCode") for line in cart["lineItems"]]
    assert errors == [None, 10001, 10015, 10010, 10001, 10006]
    assert cart["lineItems"][1]["error"]["errorDescription"]
    result = api.post(f"/customers/{cid}/carts/{cart['id']}/checkout").json()
    (order,) = result["orders"]
    assert order["lineItems"][0]["offerId"] == NO_TEAMS.catalog_item_id
    failed = {e["orderGroupId"]: e["code"] for e in result["orderErrors"]}
    assert failed == {"1": 10001, "2": 10010}


def test_an_attach_licence_can_be_bought_with_its_base_in_the_same_cart(
    api: Any,
) -> None:
    cid = api.scenario(PROSEWARE)["id"]
    base = products.sku(products.D365_SALES_ENTERPRISE)
    attach = products.sku(products.D365_CUSTOMER_SERVICE_ATTACH)
    cart = _cart(api, cid, _line(base, 8), _line(attach, 8))
    assert all("error" not in line for line in cart["lineItems"])


def test_a_cart_can_be_replaced_until_it_is_ordered(api: Any) -> None:
    cid = api.scenario(PROSEWARE)["id"]
    cart = _cart(api, cid, _line(NO_TEAMS, 5))
    path = f"/customers/{cid}/carts/{cart['id']}"
    cart["lineItems"][0]["quantity"] = 7
    replaced = api.call("PUT", path, json=cart)
    assert replaced.status_code == 200
    assert replaced.json()["lineItems"][0]["quantity"] == 7
    api.post(f"{path}/checkout")
    assert api.call("PUT", path, json=cart).json()["code"] == 800065
    assert api.get(f"/customers/{cid}/carts/{uuid.uuid4()}").status_code == 404


def test_checkout_is_refused_until_the_customer_agreement_is_accepted(
    api: Any,
) -> None:
    cid = api.scenario(BEST_FOR_YOU)["id"]
    api.control("PATCH", f"/customers/{cid}", {"mcaAccepted": False})
    assert (
        api.get(
            f"/customers/{cid}/agreements?agreementType=MicrosoftCustomerAgreement"
        ).json()["items"]
        == []
    )
    cart = _cart(api, cid, _line(NO_TEAMS, 2))
    refused = api.post(f"/customers/{cid}/carts/{cart['id']}/checkout")
    assert refused.status_code == 403 and refused.json()["code"] == 13605
    order = api.post(
        f"/customers/{cid}/orders",
        json={
            "lineItems": [
                {
                    "lineItemNumber": 0,
                    "offerId": NO_TEAMS.catalog_item_id,
                    "quantity": 1,
                }
            ]
        },
    )
    assert order.status_code == 403 and order.json()["code"] == 13605

    api.settings(checkout_agreement_error="order_errors")
    per_group = api.post(f"/customers/{cid}/carts/{cart['id']}/checkout").json()
    assert per_group["orders"] == []
    assert per_group["orderErrors"] == [
        {
            "orderGroupId": "0",
            "code": 13605,
            "description": refused.json()["description"],
        }
    ]

    accepted = api.post(
        f"/customers/{cid}/agreements",
        json={
            "primaryContact": {"firstName": "Ana", "lastName": "Lee", "email": "a@b.c"},
            "templateId": "117a77b0-9360-443b-8795-c6dedc750cf9",
            "type": "MicrosoftCustomerAgreement",
        },
    )
    assert accepted.status_code == 201
    assert (
        len(
            api.get(
                f"/customers/{cid}/agreements?agreementType=MicrosoftCustomerAgreement"
            ).json()["items"]
        )
        == 1
    )
    assert api.post(f"/customers/{cid}/carts/{cart['id']}/checkout").status_code == 201


def test_an_order_of_a_modern_item_creates_a_new_commerce_subscription(
    api: Any,
) -> None:
    cid = api.scenario(CONTOSO)["id"]
    end = (datetime.now(UTC) + timedelta(days=60)).strftime("%Y-%m-%dT00:00:00Z")
    order = api.post(
        f"/customers/{cid}/orders",
        json={
            "billingCycle": "Monthly",
            "lineItems": [
                {
                    "lineItemNumber": 0,
                    "offerId": NO_TEAMS.catalog_item_id,
                    "quantity": 3,
                    "termDuration": "P1Y",
                    "customTermEndDate": end,
                    "partnerIdOnRecord": "6655443",
                }
            ],
        },
    )
    assert order.status_code == 201, order.text
    sub_id = order.json()["lineItems"][0]["subscriptionId"]
    sub = api.get(f"/customers/{cid}/subscriptions/{sub_id}").json()
    assert sub["offerId"] == NO_TEAMS.catalog_item_id
    assert sub["commitmentEndDate"] == end
    assert sub["partnerId"] == "6655443"
    retired = api.post(
        f"/customers/{cid}/orders",
        json={
            "lineItems": [
                {
                    "lineItemNumber": 0,
                    "offerId": products.sku(products.M365_E3).catalog_item_id,
                    "quantity": 1,
                }
            ]
        },
    )
    assert retired.status_code == 403 and retired.json()["code"] == 2091


def test_a_reseller_participant_becomes_the_partner_of_record(api: Any) -> None:
    cid = api.scenario(PROSEWARE)["id"]
    participants = [{"key": "transaction_reseller", "value": "6655443"}]
    cart = _cart(api, cid, _line(TEAMS, 2, participants=participants))
    order = api.post(f"/customers/{cid}/carts/{cart['id']}/checkout").json()["orders"][
        0
    ]
    sub_id = order["lineItems"][0]["subscriptionId"]
    assert api.get(f"/customers/{cid}/subscriptions/{sub_id}").json()["partnerId"] == (
        "6655443"
    )


def test_checkout_orders_provision_after_the_delay(start: Any, make_api: Any) -> None:
    api = make_api(start(provisioning_delay_seconds=30))
    cid = api.scenario(PROSEWARE)["id"]
    cart = _cart(api, cid, _line(TEAMS, 2))
    (order,) = api.post(f"/customers/{cid}/carts/{cart['id']}/checkout").json()[
        "orders"
    ]
    assert (
        order["status"] == "pending" and "subscriptionId" not in order["lineItems"][0]
    )
    api.control("POST", "/clock", {"seconds": 31})
    done = api.get(f"/customers/{cid}/orders/{order['id']}").json()
    assert done["status"] == "completed" and done["lineItems"][0]["subscriptionId"]
