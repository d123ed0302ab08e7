"""Fault rules precise enough for the engine's fault tests: the Nth match, the
first attempt per path, seeded rates, and a visible record of applied writes."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
import requests

from sandbox import catalog
from sandbox.seed import CONTOSO
from sandbox.server import SandboxServer

AX = catalog.offer_by_name(catalog.AX_ENTERPRISE)["skuId"]
REMOVE_AX = {"licensesToRemove": [AX]}


def _contoso(api: Any) -> tuple[str, list[dict[str, Any]]]:
    """Return Contoso's id and its users."""
    tenant = api.scenario(CONTOSO)
    return tenant["id"], tenant["users"]


def _holds_ax(api: Any, cid: str, uid: str) -> bool:
    """Return whether a user still holds AX Enterprise (read over HTTP)."""
    body = api.get(f"/customers/{cid}/users/{uid}/licenses").json()
    return AX in {item["productSku"]["id"] for item in body["items"]}


def test_a_drop_fires_on_exactly_the_nth_matching_write_after_applying_it(
    api: Any,
) -> None:
    cid, users = _contoso(api)
    api.fault(method="POST", path="/licenseupdates$", action="drop_response", nth=2)
    ids = [str(uuid.uuid4()) for _ in range(3)]
    outcomes = []
    for user, request_id in zip(users[:3], ids, strict=True):
        try:
            response = api.post(
                f"/customers/{cid}/users/{user['id']}/licenseupdates",
                json=REMOVE_AX,
                headers={"MS-RequestId": request_id},
            )
            outcomes.append(response.status_code)
        except requests.ConnectionError:
            outcomes.append("dropped")
    assert outcomes == [201, "dropped", 201]
    assert not any(_holds_ax(api, cid, u["id"]) for u in users[:3])
    dump = api.dump()
    assert [w["ms_request_id"] for w in dump["writes"]] == ids
    dropped = next(r for r in dump["requests"] if r["ms_request_id"] == ids[1])
    assert dropped["applied"] is True and dropped["fault"] == "drop_response"
    assert dump["faults"] == []


def test_a_timeout_on_a_patch_commits_it_and_holds_the_answer(api: Any) -> None:
    tenant = api.scenario(CONTOSO)
    sub = tenant["subscriptions"][0]
    path = f"/customers/{tenant['id']}/subscriptions/{sub['id']}"
    api.fault(
        method="PATCH", path="/subscriptions/[^/]+$", action="timeout", delay_ms=800
    )
    request_id = str(uuid.uuid4())
    with pytest.raises(requests.Timeout):
        api.patch(
            path,
            json={"friendlyName": "renamed"},
            headers={"MS-RequestId": request_id},
            timeout=0.3,
        )
    assert api.get(path).json()["friendlyName"] == "renamed"
    (write,) = [w for w in api.dump()["writes"] if w["ms_request_id"] == request_id]
    assert (write["method"], write["status"], write["fault"]) == (
        "PATCH",
        200,
        "timeout",
    )


def test_a_503_on_the_nth_order_does_not_place_it(api: Any) -> None:
    api.settings(order_listing_delay_seconds=0)
    cid = api.scenario(CONTOSO)["id"]
    target = catalog.offer_by_name(catalog.D365_UNIFIED_OPERATIONS)["id"]
    order = {"lineItems": [{"lineItemNumber": 0, "offerId": target, "quantity": 1}]}
    api.fault(method="POST", path="/orders$", action="503", nth=3)
    codes = [
        api.post(f"/customers/{cid}/orders", json=order).status_code for _ in range(4)
    ]
    assert codes == [201, 201, 503, 201]
    assert len(api.get(f"/customers/{cid}/orders").json()["items"]) == 1 + 3
    log = api.dump()["requests"]
    rejected = [r for r in log if r["fault"] == "503"]
    assert len(rejected) == 1 and rejected[0]["applied"] is False


def test_per_path_fails_the_first_attempt_of_each_distinct_path_once(
    api: Any,
) -> None:
    cid, users = _contoso(api)
    api.fault(
        method="POST", path="/licenseupdates$", action="503", per_path=True, count=None
    )
    for user in users[:10]:
        path = f"/customers/{cid}/users/{user['id']}/licenseupdates"
        first = api.post(path, json=REMOVE_AX)
        assert first.status_code == 503 and first.headers["Retry-After"] == "1"
        assert _holds_ax(api, cid, user["id"])
        assert api.post(path, json=REMOVE_AX).status_code == 201
    (rule,) = api.control("GET", "/faults").json()["faults"]
    assert rule["fired"] == 10 and rule["matched"] == 20
    assert len(set(rule["fired_paths"])) == 10


def _throttled_paths(api: Any, seed: int | None) -> tuple[set[str], int]:
    """Read every user's licences under a 10% 429 rule.

    Return the throttled paths and the number of reads.
    """
    rule: dict[str, Any] = {
        "method": "GET",
        "path": "/licenses$",
        "action": "429",
        "probability": 0.1,
        "count": None,
        "retry_after": 5,
    }
    if seed is not None:
        rule["seed"] = seed
    api.fault(**rule)
    throttled = set()
    dump = api.dump()
    # Customers whose GDAP relationship lets their users be read.
    listed = {
        c["id"]
        for c in dump["customers"]
        if "Directory Readers" in (c.get("gdapRoles") or ["Directory Readers"])
    }
    users = [u for u in dump["users"] if u["customerId"] in listed]
    for user in users:
        path = f"/customers/{user['customerId']}/users/{user['id']}/licenses"
        response = api.get(path)
        if response.status_code == 429:
            assert response.headers["Retry-After"] == "5"
            throttled.add(path)
        else:
            assert response.status_code == 200
    return throttled, len(users)


def test_a_429_rate_picks_the_same_reads_for_the_same_seed(
    start: Callable[..., SandboxServer], make_api: Callable[..., Any]
) -> None:
    first, reads = _throttled_paths(make_api(start(customers=30, seed=3)), None)
    second_api = make_api(start(customers=30, seed=3))
    second, _ = _throttled_paths(second_api, None)
    second_api.control("DELETE", "/faults")
    other, _ = _throttled_paths(second_api, 99)
    assert reads > 150
    assert first == second
    assert first != other
    assert 0.04 * reads < len(first) < 0.18 * reads


def test_retrying_a_throttled_read_draws_again(api: Any) -> None:
    cid, users = _contoso(api)
    api.fault(
        method="GET", path="/licenses$", action="429", probability=0.5, count=None
    )
    path = f"/customers/{cid}/users/{users[0]['id']}/licenses"
    codes = {api.get(path).status_code for _ in range(12)}
    assert codes == {200, 429}


def test_replays_and_rejections_are_not_counted_as_applied_writes(api: Any) -> None:
    api.settings(duplicate_request_id="replay")
    cid, users = _contoso(api)
    path = f"/customers/{cid}/users/{users[0]['id']}/licenseupdates"
    headers = {"MS-RequestId": str(uuid.uuid4())}
    assert api.post(path, json=REMOVE_AX, headers=headers).status_code == 201
    assert api.post(path, json=REMOVE_AX, headers=headers).status_code == 201
    refused = api.post(path, json=REMOVE_AX)  # nothing left to remove: 400
    assert refused.status_code == 400
    dump = api.dump()
    assert [w["ms_request_id"] for w in dump["writes"]] == [headers["MS-RequestId"]]
    entries = [r for r in dump["requests"] if r["method"] == "POST"]
    assert [(r["replayed"], r["applied"]) for r in entries] == [
        (False, True),
        (True, False),
        (False, False),
    ]


def test_a_rule_with_an_unknown_key_or_bad_number_is_refused(api: Any) -> None:
    assert (
        api.control("POST", "/faults", {"action": "503", "nht": 2}).status_code == 400
    )
    assert (
        api.control("POST", "/faults", {"action": "503", "nth": 0}).status_code == 400
    )
    assert (
        api.control("POST", "/faults", {"action": "503", "count": "x"}).status_code
        == 400
    )
