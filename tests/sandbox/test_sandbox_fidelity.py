"""Fidelity switches: the sandbox plays each plausible answer, strictest by default."""

from __future__ import annotations

import uuid
from typing import Any

from sandbox import catalog, products
from sandbox.settings import FIDELITY, parse_fidelity
from tests.sandbox.test_sandbox_carts import NO_TEAMS, PROSEWARE, _cart, _line

CONTOSO = "Contoso Ltd"


def _fidelity(api: Any, **changes: Any) -> dict[str, Any]:
    response = api.control("POST", "/fidelity", changes)
    assert response.status_code == 200, response.text
    return dict(response.json()["fidelity"])


def _legacy_order(api: Any, cid: str, name: str = "E3 replacement (PH-ABC)") -> Any:
    offer = catalog.offer_by_name(catalog.D365_UNIFIED_OPERATIONS)["id"]
    body = {
        "lineItems": [
            {"lineItemNumber": 0, "offerId": offer, "quantity": 2, "friendlyName": name}
        ]
    }
    return api.post(
        f"/customers/{cid}/orders",
        json=body,
        headers={"MS-RequestId": str(uuid.uuid4())},
    )


def test_every_switch_starts_at_its_strictest_answer(api: Any) -> None:
    body = api.control("GET", "/fidelity").json()

    assert body["fidelity"] == {k: s.strictest for k, s in FIDELITY.items()}
    assert body["fidelity"]["duplicate_request_id"] == "off"
    assert body["switches"]["friendly_name_copy"]["confirmed"] is False


def test_a_reset_puts_the_switches_back_and_a_bad_value_is_refused(api: Any) -> None:
    _fidelity(api, friendly_name_copy="copied")
    bad = api.control("POST", "/fidelity", {"friendly_name_copy": "sometimes"})
    unknown = api.control("POST", "/fidelity", {"rate_limit_per_minute": 5})

    api.control("POST", "/reset", {})

    assert bad.status_code == 400 and unknown.status_code == 400
    assert api.control("GET", "/fidelity").json()["fidelity"]["friendly_name_copy"] == (
        "dropped"
    )


def test_the_command_line_pairs_are_validated() -> None:
    assert parse_fidelity(
        ["order_listing_delay_seconds=2", "cart_order_ids=shown"]
    ) == {
        "order_listing_delay_seconds": 2.0,
        "cart_order_ids": "shown",
    }
    for bad in (["nope=1"], ["cart_order_ids"], ["cart_order_ids=maybe"]):
        try:
            parse_fidelity(bad)
        except ValueError:
            continue
        raise AssertionError(f"{bad} was accepted")


def test_a_repeated_request_id_is_a_new_order_when_de_duplication_is_off(
    api: Any,
) -> None:
    cid = api.scenario(CONTOSO)["id"]
    offer = catalog.offer_by_name(catalog.D365_UNIFIED_OPERATIONS)["id"]
    body = {"lineItems": [{"lineItemNumber": 0, "offerId": offer, "quantity": 1}]}
    headers = {"MS-RequestId": str(uuid.uuid4())}

    first = api.post(f"/customers/{cid}/orders", json=body, headers=headers).json()
    again = api.post(f"/customers/{cid}/orders", json=body, headers=headers).json()

    assert first["id"] != again["id"]


def test_a_legacy_order_has_a_mixed_case_id_found_only_as_given(api: Any) -> None:
    cid = api.scenario(CONTOSO)["id"]
    order = _legacy_order(api, cid).json()
    oid = order["id"]

    assert oid != oid.lower() and oid != oid.upper()
    assert api.get(f"/customers/{cid}/orders/{oid}").status_code == 200
    assert api.get(f"/customers/{cid}/orders/{oid.lower()}").status_code == 404
    _fidelity(api, order_id_lookup="case_insensitive")
    assert api.get(f"/customers/{cid}/orders/{oid.lower()}").status_code == 200


def test_a_new_order_is_listed_only_after_the_listing_delay(api: Any) -> None:
    cid = api.scenario(CONTOSO)["id"]
    oid = _legacy_order(api, cid).json()["id"]

    def listed() -> set[str]:
        items = api.get(f"/customers/{cid}/orders").json()["items"]
        return {o["id"] for o in items}

    assert oid not in listed()
    api.control("POST", "/clock", {"seconds": 901})
    assert oid in listed()


def test_the_friendly_name_is_dropped_or_copied_as_the_switch_says(api: Any) -> None:
    cid = api.scenario(CONTOSO)["id"]
    dropped = _legacy_order(api, cid).json()
    _fidelity(api, friendly_name_copy="copied")
    copied = _legacy_order(api, cid).json()

    assert (
        dropped["lineItems"][0]["friendlyName"]
        == (catalog.offer_by_name(catalog.D365_UNIFIED_OPERATIONS)["name"])
    )
    assert copied["lineItems"][0]["friendlyName"] == "E3 replacement (PH-ABC)"


def test_an_ordered_cart_says_so_and_a_second_checkout_is_refused_or_replayed(
    api: Any,
) -> None:
    cid = api.scenario(PROSEWARE)["id"]
    cart = _cart(api, cid, _line(NO_TEAMS))
    path = f"/customers/{cid}/carts/{cart['id']}"
    first = api.post(f"{path}/checkout", headers={"MS-RequestId": str(uuid.uuid4())})
    order_ids = [o["id"] for o in first.json()["orders"]]

    read = api.get(path).json()
    busy = api.post(f"{path}/checkout", headers={"MS-RequestId": str(uuid.uuid4())})
    api.control("POST", "/clock", {"seconds": 31})
    done = api.post(f"{path}/checkout", headers={"MS-RequestId": str(uuid.uuid4())})
    _fidelity(api, checkout_repeat="replay", cart_order_ids="shown")
    replay = api.post(f"{path}/checkout", headers={"MS-RequestId": str(uuid.uuid4())})
    shown = api.get(path).json()

    assert read["status"] == "Ordered" and "orderIds" not in read
    assert (busy.status_code, busy.json()["code"]) == (409, 800064)
    assert "being processed by another request" in busy.json()["description"]
    assert (done.status_code, done.json()["code"]) == (400, 800065)
    assert done.json()["description"] == "Cannot check out an already submitted cart"
    assert replay.status_code == 201 and replay.json() == first.json()
    assert shown["orderIds"] == order_ids
    assert products.by_catalog_item(NO_TEAMS.catalog_item_id) is not None
