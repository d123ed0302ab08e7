"""Transition eligibilities and transitions, with and without licence transfer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sandbox import products
from sandbox.seed import ALPINE_SKI_HOUSE
from sandbox.server import SandboxServer

E1 = products.sku(products.O365_E1)
E3 = products.sku(products.O365_E3)


def _alpine(api: Any) -> tuple[str, dict[str, Any]]:
    """Return Alpine Ski House's id and its Office 365 E1 subscription."""
    cid = api.scenario(ALPINE_SKI_HOUSE)["id"]
    (sub,) = api.get(f"/customers/{cid}/subscriptions").json()["items"]
    return cid, sub


def _holders(api: Any, sku_id: str) -> int:
    """Return how many Alpine users hold a licence."""
    return sum(
        1 for u in api.scenario(ALPINE_SKI_HOUSE)["users"] if sku_id in u["licenses"]
    )


def test_eligibilities_list_the_targets_for_both_transition_types(api: Any) -> None:
    cid, sub = _alpine(api)
    path = f"/customers/{cid}/subscriptions/{sub['id']}/transitionEligibilities"
    body = api.get(f"{path}?eligibilityType=immediate").json()
    targets = {item["catalogItemId"]: item for item in body["items"]}
    assert set(targets) == {
        E3.catalog_item_id,
        products.sku(products.M365_E3_NO_TEAMS).catalog_item_id,
    }
    item = targets[E3.catalog_item_id]
    assert item["quantity"] == 12
    assert {e["transitionType"]: e["isEligible"] for e in item["eligibilities"]} == {
        "transition_only": True,
        "transition_with_license_transfer": True,
    }
    assert api.get(f"{path}?eligibilityType=scheduled").status_code == 200
    assert api.get(f"{path}?eligibilityType=sometime").status_code == 400


def test_a_suspended_source_is_not_eligible(api: Any) -> None:
    cid, sub = _alpine(api)
    path = f"/customers/{cid}/subscriptions/{sub['id']}"
    assert api.patch(path, json={"status": "suspended"}).status_code == 200
    body = api.get(f"{path}/transitionEligibilities").json()
    for item in body["items"]:
        for eligibility in item["eligibilities"]:
            assert eligibility["isEligible"] is False
            assert [e["code"] for e in eligibility["errors"]] == [2]
    refused = api.post(
        f"{path}/transitions", json={"toCatalogItemId": E3.catalog_item_id}
    )
    assert refused.status_code == 400
    assert api.scenario(ALPINE_SKI_HOUSE)["subscriptions"][0]["status"] == "suspended"


def test_a_full_transition_converts_the_subscription_in_place_as_documented(
    api: Any,
) -> None:
    cid, sub = _alpine(api)
    path = f"/customers/{cid}/subscriptions/{sub['id']}"
    posted = api.post(
        f"{path}/transitions",
        json={
            "toCatalogItemId": E3.catalog_item_id,
            "transitionType": "transition_with_license_transfer",
        },
    ).json()
    # The documented POST answer: no operationId, no status, no target id.
    assert not {"operationId", "status", "toSubscriptionId"} & set(posted)
    assert [e["status"].strip() for e in posted["Events"]] == ["Started"]
    (listed,) = api.get(f"{path}/transitions").json()["transition"]
    assert listed["operationId"] and "toSubscriptionId" not in listed
    assert "status" not in listed and listed["ToCatalogItemId"] == E3.catalog_item_id
    # An append-only log: Started stays, Completed entries are added.
    assert [(e["name"], e["status"].strip()) for e in listed["Events"]] == [
        ("Conversion", "Started"),
        ("Conversion", "Completed"),
        ("SeatReassignment", "Completed"),
    ]
    converted = api.get(path).json()
    assert (converted["id"], converted["status"]) == (sub["id"], "active")
    assert (converted["offerId"], converted["quantity"]) == (E3.catalog_item_id, 12)
    assert _holders(api, E3.entra_sku_id) == 10
    subs = api.get(f"/customers/{cid}/subscriptions").json()["items"]
    assert [s["id"] for s in subs] == [sub["id"]]


def test_the_fidelity_switch_plays_a_new_target_and_rewritten_events(
    api: Any,
) -> None:
    api.settings(transition_shape="with_target_id", transition_events="rewritten")
    cid, sub = _alpine(api)
    response = api.post(
        f"/customers/{cid}/subscriptions/{sub['id']}/transitions",
        json={
            "fromCatalogItemId": sub["offerId"],
            "fromSubscriptionId": sub["id"],
            "toCatalogItemId": E3.catalog_item_id,
            "transitionType": "transition_with_license_transfer",
        },
    )
    assert response.status_code == 200, response.text
    transition = response.json()
    assert transition["attributes"]["objectType"] == "Transition"
    assert [e["name"] for e in transition["events"]] == [
        "Conversion",
        "SeatReassignment",
    ]
    assert all(e["status"] == "Completed" for e in transition["events"])
    assert [e["code"] for e in transition["events"][1]["errors"]] == [12, 12]
    assert _holders(api, E3.entra_sku_id) == 10
    assert _holders(api, E1.entra_sku_id) == 2
    source = api.get(f"/customers/{cid}/subscriptions/{sub['id']}").json()
    target = api.get(
        f"/customers/{cid}/subscriptions/{transition['toSubscriptionId']}"
    ).json()
    assert source["status"] == "expired"
    assert (target["offerId"], target["quantity"]) == (E3.catalog_item_id, 12)
    history = api.get(f"/customers/{cid}/subscriptions/{sub['id']}/transitions").json()
    assert [t["operationId"] for t in history["transition"]] == [
        transition["operationId"]
    ]


def test_a_partial_transition_only_keeps_users_where_they_are(api: Any) -> None:
    api.settings(transition_shape="with_target_id")
    cid, sub = _alpine(api)
    transition = api.post(
        f"/customers/{cid}/subscriptions/{sub['id']}/transitions",
        json={"toCatalogItemId": E3.catalog_item_id, "quantity": 5},
    ).json()
    assert transition["transitionType"] == "transition_only"
    source = api.get(f"/customers/{cid}/subscriptions/{sub['id']}").json()
    assert (source["status"], source["quantity"]) == ("active", 7)
    assert _holders(api, E1.entra_sku_id) == 12 and _holders(api, E3.entra_sku_id) == 0
    into = api.post(
        f"/customers/{cid}/subscriptions/{sub['id']}/transitions",
        json={
            "toCatalogItemId": E3.catalog_item_id,
            "toSubscriptionId": transition["toSubscriptionId"],
            "quantity": 2,
        },
    ).json()
    assert into["toSubscriptionId"] == transition["toSubscriptionId"]
    target = api.get(
        f"/customers/{cid}/subscriptions/{transition['toSubscriptionId']}"
    ).json()
    assert target["quantity"] == 7


def test_a_transition_to_something_else_or_too_many_seats_is_refused(
    api: Any,
) -> None:
    cid, sub = _alpine(api)
    path = f"/customers/{cid}/subscriptions/{sub['id']}/transitions"
    other = products.sku(products.BUSINESS_PREMIUM).catalog_item_id
    assert api.post(path, json={"toCatalogItemId": other}).status_code == 400
    too_many = api.post(
        path, json={"toCatalogItemId": E3.catalog_item_id, "quantity": 13}
    )
    assert too_many.json()["code"] == 2002


def test_a_transition_runs_in_progress_until_the_provisioning_delay_passes(
    start: Callable[..., SandboxServer], make_api: Callable[..., Any]
) -> None:
    api = make_api(
        start(provisioning_delay_seconds=60, transition_shape="with_target_id")
    )
    cid, sub = _alpine(api)
    pending = api.post(
        f"/customers/{cid}/subscriptions/{sub['id']}/transitions",
        json={
            "toCatalogItemId": E3.catalog_item_id,
            "transitionType": "transition_with_license_transfer",
        },
    ).json()
    assert pending["status"] == "InProgress" and "toSubscriptionId" not in pending
    assert _holders(api, E3.entra_sku_id) == 0
    api.control("POST", "/clock", {"seconds": 61})
    (done,) = api.get(
        f"/customers/{cid}/subscriptions/{sub['id']}/transitions?operationId="
        f"{pending['operationId']}"
    ).json()["transition"]
    assert done["status"] == "Completed" and done["toSubscriptionId"]
    assert _holders(api, E3.entra_sku_id) == 10


def test_an_unknown_transition_shape_is_refused(api: Any) -> None:
    answer = api.control("POST", "/settings", {"transition_shape": "new_id"})
    assert answer.status_code == 400
    assert api.settings()["transition_shape"] == "documented"
