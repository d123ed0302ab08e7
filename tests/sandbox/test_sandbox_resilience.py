"""Rate limiting, MS-RequestId de-duplication and injected faults."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from sandbox import catalog
from sandbox.seed import CONTOSO
from sandbox.server import SandboxServer

UNIFIED_OPS = catalog.offer_by_name(catalog.D365_UNIFIED_OPERATIONS)
ORDER = {
    "billingCycle": "monthly",
    "lineItems": [{"lineItemNumber": 0, "offerId": UNIFIED_OPS["id"], "quantity": 15}],
}


def _orders_of(api: Any, cid: str) -> list[dict[str, Any]]:
    """Return the orders of a customer as the API lists them."""
    return list(api.get(f"/customers/{cid}/orders").json()["items"])


def test_it_answers_429_with_retry_after_above_the_rate(
    start: Callable[..., SandboxServer], make_api: Callable[..., Any]
) -> None:
    api = make_api(start(rate_limit_per_minute=5, retry_after_seconds=7))
    statuses = [api.get("/customers?size=1").status_code for _ in range(8)]
    assert statuses[:5] == [200] * 5
    assert statuses[5:] == [429] * 3
    response = api.get("/customers?size=1")
    assert response.headers["Retry-After"] == "7"
    assert response.json() == {
        "statusCode": 429,
        "message": "Rate limit is exceeded. Try again in 7 seconds.",
    }


def test_retry_after_is_derived_from_the_bucket_when_not_configured(
    start: Callable[..., SandboxServer], make_api: Callable[..., Any]
) -> None:
    api = make_api(start(rate_limit_per_minute=2))
    for _ in range(2):
        assert api.get("/customers?size=1").status_code == 200
    response = api.get("/customers?size=1")
    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 30


def test_a_throttled_write_does_nothing(
    start: Callable[..., SandboxServer], make_api: Callable[..., Any]
) -> None:
    server = start()
    api = make_api(server)
    cid = api.scenario(CONTOSO)["id"]
    api.settings(rate_limit_per_minute=1)
    api.get("/customers?size=1")
    response = api.post(f"/customers/{cid}/orders", json=ORDER)
    assert response.status_code == 429
    api.settings(rate_limit_per_minute=0)
    assert len(_orders_of(api, cid)) == 1  # only the seeded one


def test_it_replays_a_duplicate_request_id_without_a_second_order(api: Any) -> None:
    api.settings(duplicate_request_id="replay", order_listing_delay_seconds=0)
    cid = api.scenario(CONTOSO)["id"]
    headers = {"MS-RequestId": str(uuid.uuid4())}
    first = api.post(f"/customers/{cid}/orders", json=ORDER, headers=headers)
    second = api.post(f"/customers/{cid}/orders", json=ORDER, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers["MS-RequestId"] == headers["MS-RequestId"]
    assert len(_orders_of(api, cid)) == 2
    log = [
        r
        for r in api.dump()["requests"]
        if r["ms_request_id"] == headers["MS-RequestId"]
    ]
    assert [r["replayed"] for r in log] == [False, True]
    other = api.post(
        f"/customers/{cid}/orders",
        json=ORDER,
        headers={"MS-RequestId": str(uuid.uuid4())},
    )
    assert other.json()["id"] != first.json()["id"]
    assert len(_orders_of(api, cid)) == 3


def test_a_replayed_business_failure_is_replayed_too(api: Any) -> None:
    cid = api.scenario(CONTOSO)["id"]
    retired = catalog.offer_by_name(catalog.AX_ENTERPRISE)["id"]
    body = {"lineItems": [{"lineItemNumber": 0, "offerId": retired, "quantity": 1}]}
    headers = {"MS-RequestId": str(uuid.uuid4())}
    first = api.post(f"/customers/{cid}/orders", json=body, headers=headers)
    second = api.post(f"/customers/{cid}/orders", json=body, headers=headers)
    assert first.status_code == second.status_code == 403
    assert first.json() == second.json()


def test_duplicate_request_id_conflict_mode_answers_800060(api: Any) -> None:
    api.settings(duplicate_request_id="conflict")
    api.settings(order_listing_delay_seconds=0)
    cid = api.scenario(CONTOSO)["id"]
    headers = {"MS-RequestId": str(uuid.uuid4())}
    assert (
        api.post(f"/customers/{cid}/orders", json=ORDER, headers=headers).status_code
        == 201
    )
    again = api.post(f"/customers/{cid}/orders", json=ORDER, headers=headers)
    assert again.status_code == 409
    assert again.json()["code"] == 800060
    assert len(_orders_of(api, cid)) == 2


def test_drop_response_commits_the_write_and_closes_the_connection(api: Any) -> None:
    api.settings(duplicate_request_id="replay", order_listing_delay_seconds=0)
    cid = api.scenario(CONTOSO)["id"]
    api.fault(method="POST", path=r"/customers/[^/]+/orders$", action="drop_response")
    headers = {"MS-RequestId": str(uuid.uuid4())}
    with pytest.raises(requests.ConnectionError):
        api.post(f"/customers/{cid}/orders", json=ORDER, headers=headers)
    orders = _orders_of(api, cid)
    assert len(orders) == 2  # the write happened
    retry = api.post(f"/customers/{cid}/orders", json=ORDER, headers=headers)
    assert retry.status_code == 201
    assert retry.json()["id"] in {o["id"] for o in orders}
    assert len(_orders_of(api, cid)) == 2
    log = api.dump()["requests"]
    dropped = [r for r in log if r["fault"] == "drop_response"]
    assert len(dropped) == 1 and dropped[0]["status"] == 201


def test_a_500_fault_does_not_perform_the_write(api: Any) -> None:
    cid = api.scenario(CONTOSO)["id"]
    sub = api.scenario(CONTOSO)["subscriptions"][0]
    api.fault(method="PATCH", path="/subscriptions/", action="500", count=1)
    path = f"/customers/{cid}/subscriptions/{sub['id']}"
    failed = api.patch(path, json={"status": "suspended"})
    assert failed.status_code == 500
    assert set(failed.json()) >= {"code", "description", "source"}
    assert api.get(path).json()["status"] == "active"
    assert api.patch(path, json={"status": "suspended"}).status_code == 200


def test_a_503_and_a_429_fault_fire_count_times_only(api: Any) -> None:
    api.fault(method="GET", path="^/v1/customers$", action="503", count=2)
    codes = [api.get("/customers?size=1").status_code for _ in range(3)]
    assert codes == [503, 503, 200]
    api.fault(method="*", path="/customers", action="429", count=1)
    throttled = api.get("/customers?size=1")
    assert throttled.status_code == 429 and "Retry-After" in throttled.headers
    assert api.control("GET", "/faults").json()["faults"] == []


def test_malformed_json_answers_200_with_an_invalid_body(api: Any) -> None:
    api.fault(method="GET", path="/customers", action="malformed_json")
    response = api.get("/customers?size=3")
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.text)


def test_timeout_fault_delays_the_answer_after_doing_the_write(api: Any) -> None:
    api.settings(duplicate_request_id="replay", order_listing_delay_seconds=0)
    cid = api.scenario(CONTOSO)["id"]
    api.settings(latency_ms=400)
    api.fault(method="POST", path="/orders", action="timeout")
    headers = {"MS-RequestId": str(uuid.uuid4())}
    with pytest.raises(requests.Timeout):
        api.post(f"/customers/{cid}/orders", json=ORDER, headers=headers, timeout=0.6)
    api.settings(latency_ms=0)
    assert len(_orders_of(api, cid)) == 2
    retry = api.post(f"/customers/{cid}/orders", json=ORDER, headers=headers)
    assert retry.status_code == 201
    assert len(_orders_of(api, cid)) == 2


def test_fault_rules_can_be_listed_and_cleared(api: Any) -> None:
    rule = api.fault(path="/users", action="500", count=None, probability=0.5)
    assert rule["count"] is None and rule["method"] == "*"
    assert len(api.control("GET", "/faults").json()["faults"]) == 1
    assert api.control("DELETE", "/faults").status_code == 200
    assert api.control("GET", "/faults").json()["faults"] == []
    bad = api.control("POST", "/faults", {"path": "/x", "action": "explode"})
    assert bad.status_code == 400


def test_every_response_carries_request_and_correlation_ids(api: Any) -> None:
    correlation = str(uuid.uuid4())
    response = api.get("/customers?size=1", headers={"MS-CorrelationId": correlation})
    assert response.headers["MS-CorrelationId"] == correlation
    assert response.headers["MS-RequestId"]
    assert response.headers["MS-CV"]
    assert response.headers["Content-Type"] == "application/json"
    missing = api.get("/no/such/route")
    assert missing.status_code == 404
    assert missing.json()["source"] == "PartnerFD"
    assert missing.headers["MS-RequestId"]


def test_concurrent_duplicates_create_exactly_one_order(api: Any) -> None:
    api.settings(duplicate_request_id="replay", order_listing_delay_seconds=0)
    cid = api.scenario(CONTOSO)["id"]
    headers = {"MS-RequestId": str(uuid.uuid4())}

    def post(_: int) -> requests.Response:
        return api.post(f"/customers/{cid}/orders", json=ORDER, headers=headers)

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(post, range(8)))
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert len(_orders_of(api, cid)) == 2
    log = [
        r
        for r in api.dump()["requests"]
        if r["ms_request_id"] == headers["MS-RequestId"]
    ]
    assert sorted(r["replayed"] for r in log) == [False] + [True] * 7
