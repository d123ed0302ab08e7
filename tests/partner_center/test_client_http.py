"""Client behaviour over real HTTP against a scripted local server."""

from __future__ import annotations

import socket
import time
import uuid
from typing import Any

import pytest

from partner_center.auth import StaticTokenProvider
from partner_center.client import CallRecord, PartnerCenterClient
from partner_center.errors import (
    AuthError,
    Conflict,
    Forbidden,
    MalformedResponse,
    NotFound,
    PermanentError,
    Throttled,
    TransientError,
)
from partner_center.models import OrderLineItem
from partner_center.ratelimit import RedisRateLimiter
from tests.partner_center.support import (
    REDIS_URL,
    TOKEN,
    Canned,
    FakePartnerCenter,
    SeenRequest,
    example,
)

CID = "b44bb1fb-c595-45b0-9e09-d657365580bf"
SID = "968BA1CF-C146-4ADF-A300-308DCF718EEE"
# GUIDs go into paths in lower case, whatever case the caller passes.
SUB_PATH = f"/v1/customers/{CID}/subscriptions/{SID.lower()}"


def customers_page(
    ids: list[str], token: str | None = None, next_link: dict[str, Any] | None = None
) -> dict[str, Any]:
    page: dict[str, Any] = {
        "totalCount": len(ids),
        "items": [{"id": i, "relationshipToPartner": "reseller"} for i in ids],
        "links": {"self": {"uri": "/customers?size=2", "method": "GET", "headers": []}},
        "attributes": {"objectType": "Collection"},
    }
    if token is not None:
        page["continuationToken"] = token
    if next_link is not None:
        page["links"]["next"] = next_link
    return page


def subscription(**fields: Any) -> dict[str, Any]:
    body = example("subscription_legacy.json")
    # The documented ETag is elided with "…", which HTTP headers cannot carry.
    body["attributes"]["etag"] = "eyJpZCI6Ijk2"
    body.update(fields)
    return body


def is_uuid(value: str | None) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


# ---------------------------------------------------------------- headers, records


def test_it_sends_the_documented_headers_on_a_read(
    client: PartnerCenterClient, fake: FakePartnerCenter
) -> None:
    fake.script("GET", f"/v1/customers/{CID}", Canned(200, {"id": CID}))

    client.get_customer(CID)

    seen = fake.calls("GET")[0]
    assert seen.header("Authorization") == f"Bearer {TOKEN}"
    assert seen.header("Accept") == "application/json"
    assert is_uuid(seen.header("MS-RequestId"))
    assert is_uuid(seen.header("MS-CorrelationId"))
    assert seen.header("X-Locale") == "en-US"
    assert seen.header("MS-PartnerCenter-Application") == "PartnerHub"
    assert seen.header("Content-Type") is None


def test_it_uses_a_new_correlation_id_per_call_unless_given(
    client: PartnerCenterClient, fake: FakePartnerCenter
) -> None:
    fake.script("GET", f"/v1/customers/{CID}", Canned(200, {"id": CID}))

    client.get_customer(CID)
    client.get_customer(CID)
    client.get_customer(CID, correlation_id="corr-1")

    ids = [r.header("MS-CorrelationId") for r in fake.calls("GET")]
    assert ids[0] != ids[1]
    assert ids[2] == "corr-1"


def test_it_sends_the_callers_request_id_and_a_json_body_on_a_write(
    client: PartnerCenterClient, fake: FakePartnerCenter
) -> None:
    fake.script(
        "POST",
        f"/v1/customers/{CID}/orders",
        Canned(201, example("order_created.json")),
    )

    order = client.create_order(
        CID,
        [
            OrderLineItem(offer_id="OFFER-A", quantity=25, friendly_name="E3 swap"),
            {"offerId": "OFFER-B", "quantity": 1},
        ],
        request_id="req-123",
    )

    seen = fake.calls("POST")[0]
    assert order.id == "Cs_jyTxubLpvdJXdo8xcQZN6I2RsLrgZ1"
    assert seen.header("MS-RequestId") == "req-123"
    assert seen.header("Content-Type") == "application/json"
    assert seen.body == {
        "billingCycle": "monthly",
        "lineItems": [
            {
                "lineItemNumber": 0,
                "offerId": "OFFER-A",
                "quantity": 25,
                "friendlyName": "E3 swap",
            },
            {"lineItemNumber": 1, "offerId": "OFFER-B", "quantity": 1},
        ],
    }


def test_a_write_without_a_request_id_is_refused_before_sending(
    client: PartnerCenterClient, fake: FakePartnerCenter
) -> None:
    with pytest.raises(ValueError):
        client.create_order(CID, [{"offerId": "X", "quantity": 1}], request_id="")

    assert fake.requests == []


def test_it_records_every_attempt_without_headers_or_tokens(
    client: PartnerCenterClient, fake: FakePartnerCenter, records: list[CallRecord]
) -> None:
    fake.script(
        "GET",
        f"/v1/customers/{CID}",
        Canned(503, {"code": 5000, "description": "busy"}),
        Canned(200, {"id": CID}),
    )

    client.get_customer(CID, correlation_id="corr-9")

    assert [(r.method, r.path, r.status, r.error_code) for r in records] == [
        ("GET", f"/customers/{CID}", 503, "5000"),
        ("GET", f"/customers/{CID}", 200, None),
    ]
    assert all(r.correlation_id == "corr-9" and not r.is_write for r in records)
    assert all(r.duration_ms >= 0 for r in records)
    assert TOKEN not in repr(records)


def test_the_call_record_path_has_no_query_string(
    client: PartnerCenterClient, fake: FakePartnerCenter, records: list[CallRecord]
) -> None:
    fake.script("GET", "/v1/customers", Canned(200, customers_page(["a"])))

    list(client.iter_customers(size=2))

    assert records[0].path == "/customers"
    assert fake.requests[0].query == {"size": "2"}


# ----------------------------------------------------------------------- throttling


def test_a_429_raises_throttled_with_retry_after_and_is_never_retried(
    client: PartnerCenterClient, fake: FakePartnerCenter, records: list[CallRecord]
) -> None:
    fake.script(
        "GET",
        f"/v1/customers/{CID}",
        Canned(429, example("throttled_429.json"), headers={"Retry-After": "12"}),
    )

    with pytest.raises(Throttled) as caught:
        client.get_customer(CID)

    assert caught.value.retry_after == 12.0
    assert caught.value.local is False
    assert caught.value.request_id == fake.requests[0].header("MS-RequestId")
    assert len(fake.requests) == 1
    assert records[0].status == 429


def test_a_429_without_retry_after_waits_for_the_time_in_the_message(
    client: PartnerCenterClient, fake: FakePartnerCenter
) -> None:
    fake.script(
        "GET", f"/v1/customers/{CID}", Canned(429, example("throttled_429.json"))
    )

    with pytest.raises(Throttled) as caught:
        client.get_customer(CID)

    assert caught.value.retry_after == 57.0


def test_a_bare_429_defaults_to_sixty_seconds(
    client: PartnerCenterClient, fake: FakePartnerCenter
) -> None:
    fake.script("POST", f"/v1/customers/{CID}/orders", Canned(429, raw=b""))

    with pytest.raises(Throttled) as caught:
        client.create_order(CID, [{"offerId": "X", "quantity": 1}], request_id="r1")

    assert caught.value.retry_after == 60.0
    assert len(fake.requests) == 1


def test_a_429_with_an_http_date_retry_after_is_converted_to_seconds(
    client: PartnerCenterClient, fake: FakePartnerCenter
) -> None:
    when = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30))
    fake.script(
        "GET",
        f"/v1/customers/{CID}",
        Canned(429, raw=b"", headers={"Retry-After": when}),
    )

    with pytest.raises(Throttled) as caught:
        client.get_customer(CID)

    assert 25 <= caught.value.retry_after <= 31


def test_the_local_limiter_refuses_before_sending_when_the_wait_is_too_long(
    fake: FakePartnerCenter, redis_key: str
) -> None:
    limiter = RedisRateLimiter(REDIS_URL, redis_key, rate_per_minute=1, burst=1)
    pc = PartnerCenterClient(
        fake.api, StaticTokenProvider(TOKEN), rate_limiter=limiter, max_local_wait=0.5
    )
    fake.script("GET", f"/v1/customers/{CID}", Canned(200, {"id": CID}))

    pc.get_customer(CID)
    with pytest.raises(Throttled) as caught:
        pc.get_customer(CID)

    assert caught.value.local is True
    assert 50 < caught.value.retry_after <= 60
    assert len(fake.requests) == 1


def test_the_local_limiter_waits_when_the_wait_is_short(
    fake: FakePartnerCenter, redis_key: str
) -> None:
    limiter = RedisRateLimiter(REDIS_URL, redis_key, rate_per_minute=600, burst=1)
    pc = PartnerCenterClient(
        fake.api, StaticTokenProvider(TOKEN), rate_limiter=limiter, max_local_wait=1.0
    )
    fake.script("GET", f"/v1/customers/{CID}", Canned(200, {"id": CID}))

    started = time.monotonic()
    pc.get_customer(CID)
    pc.get_customer(CID)

    assert time.monotonic() - started >= 0.08
    assert len(fake.requests) == 2


# ------------------------------------------------------------- transient failures


def test_a_read_is_retried_after_a_5xx(
    client: PartnerCenterClient, fake: FakePartnerCenter
) -> None:
    fake.script("GET", SUB_PATH, Canned(500, raw=b"oops"), Canned(200, subscription()))

    sub = client.get_subscription(CID, SID)

    assert sub.id == SID.lower()
    assert len(fake.requests) == 2
    assert fake.requests[0].header("MS-RequestId") == fake.requests[1].header(
        "MS-RequestId"
    )


def test_a_read_gives_up_after_two_retries(
    client: PartnerCenterClient, fake: FakePartnerCenter
) -> None:
    fake.script("GET", SUB_PATH, Canned(502, {"code": 1, "description": "bad gateway"}))

    with pytest.raises(TransientError) as caught:
        client.get_subscription(CID, SID)

    assert caught.value.status == 502
    assert caught.value.ambiguous is False
    assert len(fake.requests) == 3


def test_a_read_is_retried_after_a_timeout(
    client: PartnerCenterClient, fake: FakePartnerCenter, records: list[CallRecord]
) -> None:
    fake.script(
        "GET",
        SUB_PATH,
        Canned(200, subscription(), delay=1.0),
        Canned(200, subscription()),
    )

    sub = client.get_subscription(CID, SID)

    assert sub.id == SID.lower()
    assert [r.error_code for r in records] == ["timeout", None]


def test_a_write_is_never_retried_and_a_5xx_makes_it_ambiguous(
    client: PartnerCenterClient, fake: FakePartnerCenter, records: list[CallRecord]
) -> None:
    fake.script("POST", f"/v1/customers/{CID}/orders", Canned(503, raw=b""))

    with pytest.raises(TransientError) as caught:
        client.create_order(CID, [{"offerId": "X", "quantity": 1}], request_id="r-5")

    assert caught.value.ambiguous is True
    assert caught.value.request_id == "r-5"
    assert len(fake.requests) == 1
    assert records[0].is_write is True


def test_a_write_whose_response_is_lost_is_ambiguous(
    client: PartnerCenterClient, fake: FakePartnerCenter, records: list[CallRecord]
) -> None:
    fake.script("POST", f"/v1/customers/{CID}/orders", Canned(drop=True))

    with pytest.raises(TransientError) as caught:
        client.create_order(CID, [{"offerId": "X", "quantity": 1}], request_id="r-6")

    assert caught.value.ambiguous is True
    assert len(fake.requests) == 1
    assert records[0].status is None
    assert records[0].error_code == "connection_error"


def test_a_write_that_times_out_is_ambiguous(
    client: PartnerCenterClient, fake: FakePartnerCenter, records: list[CallRecord]
) -> None:
    fake.script(
        "POST",
        f"/v1/customers/{CID}/users/u1/licenseupdates",
        Canned(201, example("license_update_response.json"), delay=1.0),
    )

    with pytest.raises(TransientError) as caught:
        client.update_user_licenses(CID, "u1", ["new"], ["old"], request_id="r-7")

    assert caught.value.ambiguous is True
    assert len(fake.requests) == 1
    assert records[0].error_code == "timeout"


def test_a_write_to_an_unreachable_server_is_not_ambiguous() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    pc = PartnerCenterClient(f"http://127.0.0.1:{port}/v1", StaticTokenProvider(TOKEN))

    with pytest.raises(TransientError) as caught:
        pc.create_order(CID, [{"offerId": "X", "quantity": 1}], request_id="r-8")

    assert caught.value.ambiguous is False


# -------------------------------------------------------------- permanent failures


@pytest.mark.parametrize(
    ("status", "error_class"),
    [(400, PermanentError), (403, Forbidden), (404, NotFound), (409, Conflict)],
)
def test_4xx_answers_raise_typed_errors_with_the_fault(
    client: PartnerCenterClient,
    fake: FakePartnerCenter,
    status: int,
    error_class: type[PermanentError],
) -> None:
    fault = {
        "code": "800002",
        "description": "no relationship",
        "data": ["x"],
        "source": "PartnerFD",
    }
    fake.script("GET", SUB_PATH, Canned(status, fault))

    with pytest.raises(error_class) as caught:
        client.get_subscription(CID, SID)

    assert type(caught.value) is error_class
    assert (caught.value.status, caught.value.code) == (status, 800002)
    assert caught.value.description == "no relationship"
    assert caught.value.data == ["x"]
    assert len(fake.requests) == 1
    assert "no relationship" in str(caught.value)


def test_a_licence_update_out_of_seats_raises_60012(
    client: PartnerCenterClient, fake: FakePartnerCenter
) -> None:
    fake.script(
        "POST",
        f"/v1/customers/{CID}/users/u1/licenseupdates",
        Canned(400, example("error_60012.json")),
    )

    with pytest.raises(PermanentError) as caught:
        client.update_user_licenses(CID, "u1", ["new"], ["old"], request_id="r-9")

    assert caught.value.code == 60012
    assert "run out of licenses" in caught.value.description


def test_a_4xx_without_a_json_body_still_has_a_description(
    client: PartnerCenterClient, fake: FakePartnerCenter
) -> None:
    fake.script("GET", SUB_PATH, Canned(405, raw=b"Method not allowed here"))

    with pytest.raises(PermanentError) as caught:
        client.get_subscription(CID, SID)

    assert caught.value.code is None
    assert caught.value.description == "Method not allowed here"


def test_a_401_drops_the_token_and_retries_a_read_once(
    fake: FakePartnerCenter,
) -> None:
    tokens = CountingTokens()
    pc = PartnerCenterClient(fake.api, tokens)
    fake.script(
        "GET", f"/v1/customers/{CID}", Canned(401, raw=b""), Canned(200, {"id": CID})
    )

    assert pc.get_customer(CID).id == CID
    assert tokens.invalidated == 1
    assert [r.header("Authorization") for r in fake.requests] == [
        "Bearer t1",
        "Bearer t2",
    ]


def test_a_second_401_on_a_read_raises_auth_error(fake: FakePartnerCenter) -> None:
    pc = PartnerCenterClient(fake.api, CountingTokens())
    fake.script("GET", f"/v1/customers/{CID}", Canned(401, raw=b""))

    with pytest.raises(AuthError) as caught:
        pc.get_customer(CID)

    assert len(fake.requests) == 2
    assert "Bearer" not in str(caught.value) and "t1" not in str(caught.value)


def test_a_401_on_a_write_raises_auth_error_without_retrying(
    fake: FakePartnerCenter,
) -> None:
    tokens = CountingTokens()
    pc = PartnerCenterClient(fake.api, tokens)
    fake.script("POST", f"/v1/customers/{CID}/orders", Canned(401, raw=b""))

    with pytest.raises(AuthError):
        pc.create_order(CID, [{"offerId": "X", "quantity": 1}], request_id="r-10")

    assert len(fake.requests) == 1
    assert tokens.invalidated == 1


def test_app_user_only_operations_need_app_user_tokens(fake: FakePartnerCenter) -> None:
    pc = PartnerCenterClient(fake.api, StaticTokenProvider(TOKEN))

    with pytest.raises(AuthError):
        list(pc.iter_users(CID))
    with pytest.raises(AuthError):
        pc.get_user(CID, "u1")
    with pytest.raises(AuthError):
        pc.list_subscribed_skus(CID)
    with pytest.raises(AuthError):
        pc.get_relationship_request()
    with pytest.raises(AuthError):
        pc.get_user_licenses(CID, "u1")
    with pytest.raises(AuthError):
        pc.update_user_licenses(CID, "u1", ["a"], [], request_id="r")

    assert fake.requests == []


# ------------------------------------------------------------------ unreadable bodies


def test_a_body_that_is_not_json_raises_malformed_response(
    client: PartnerCenterClient, fake: FakePartnerCenter
) -> None:
    fake.script("GET", SUB_PATH, Canned(200, raw=b'{"id": "968BA1CF", "status": '))

    with pytest.raises(MalformedResponse) as caught:
        client.get_subscription(CID, SID)

    assert caught.value.status == 200
    assert caught.value.excerpt.startswith('{"id": "968BA1CF"')
    assert len(fake.requests) == 1


def test_a_body_of_the_wrong_shape_raises_malformed_response(
    client: PartnerCenterClient, fake: FakePartnerCenter
) -> None:
    fake.script("GET", "/v1/customers", Canned(200, {"items": [{"name": "no id"}]}))

    with pytest.raises(MalformedResponse) as caught:
        list(client.iter_customers())

    assert "items.0.id" in str(caught.value)


def test_a_201_with_a_broken_body_says_the_write_happened(
    client: PartnerCenterClient, fake: FakePartnerCenter
) -> None:
    fake.script("POST", f"/v1/customers/{CID}/orders", Canned(201, raw=b"<html>"))

    with pytest.raises(MalformedResponse) as caught:
        client.create_order(CID, [{"offerId": "X", "quantity": 1}], request_id="r")

    assert caught.value.status == 201


def test_an_unknown_status_and_unknown_fields_are_kept(
    client: PartnerCenterClient, fake: FakePartnerCenter
) -> None:
    fake.script(
        "GET",
        f"/v1/customers/{CID}/subscriptions",
        Canned(
            200,
            {
                "totalCount": 1,
                "items": [subscription(status="quarantined", newField=[1, 2])],
            },
        ),
    )

    [sub] = client.list_subscriptions(CID)

    assert sub.status == "quarantined"
    assert sub.model_extra == {"newField": [1, 2]}


# ------------------------------------------------------------------------- paging


def test_customers_are_paged_by_continuation_token_until_it_disappears(
    client: PartnerCenterClient, fake: FakePartnerCenter
) -> None:
    fake.script(
        "GET",
        "/v1/customers",
        Canned(200, customers_page(["a", "b"], token="T1")),
        Canned(200, customers_page(["c", "d"], token="T2")),
        Canned(200, customers_page(["e"])),
    )

    ids = [c.id for c in client.iter_customers(size=2)]

    assert ids == ["a", "b", "c", "d", "e"]
    first, second, third = fake.requests
    assert first.query == {"size": "2"} and first.header("MS-ContinuationToken") is None
    assert second.query == {"size": "2", "seekOperation": "Next"}
    assert second.header("MS-ContinuationToken") == "T1"
    assert third.header("MS-ContinuationToken") == "T2"


def test_customers_are_paged_by_links_next_with_its_headers(
    client: PartnerCenterClient, fake: FakePartnerCenter
) -> None:
    def link(token: str) -> dict[str, Any]:
        return {
            "uri": "/v1/customers?size=2&seekOperation=Next",
            "method": "GET",
            "headers": [{"key": "MS-ContinuationToken", "value": token}],
        }

    fake.script(
        "GET",
        "/v1/customers",
        Canned(200, customers_page(["a", "b"], next_link=link("L1"))),
        Canned(200, customers_page(["c"], next_link=link("L2"))),
        Canned(200, customers_page([])),
    )

    ids = [c.id for c in client.iter_customers(size=2)]

    assert ids == ["a", "b", "c"]
    assert [r.header("MS-ContinuationToken") for r in fake.requests] == [
        None,
        "L1",
        "L2",
    ]
    assert fake.requests[1].query == {"size": "2", "seekOperation": "Next"}


def test_a_links_next_relative_to_the_version_root_is_followed(
    client: PartnerCenterClient, fake: FakePartnerCenter
) -> None:
    fake.script(
        "GET",
        "/v1/customers",
        Canned(
            200,
            customers_page(
                ["a"],
                token="T1",
                next_link={
                    "uri": "/customers?size=1&seekOperation=Next",
                    "method": "GET",
                },
            ),
        ),
        Canned(200, customers_page(["b"])),
    )

    assert [c.id for c in client.iter_customers(size=1)] == ["a", "b"]
    # The top-level token is sent when the link carries no header.
    assert fake.requests[1].header("MS-ContinuationToken") == "T1"


def test_paging_stops_at_400_code_2000(
    client: PartnerCenterClient, fake: FakePartnerCenter
) -> None:
    fake.script(
        "GET",
        "/v1/customers",
        Canned(200, customers_page(["a", "b"], token="T1")),
        Canned(400, {"code": 2000, "description": "no more records", "source": "x"}),
    )

    assert [c.id for c in client.iter_customers(size=2)] == ["a", "b"]


def test_a_first_page_400_code_2000_is_still_an_error(
    client: PartnerCenterClient, fake: FakePartnerCenter
) -> None:
    fake.script("GET", "/v1/customers", Canned(400, {"code": 2000, "description": "x"}))

    with pytest.raises(PermanentError):
        list(client.iter_customers())


def test_paging_stops_when_the_token_repeats(
    client: PartnerCenterClient, fake: FakePartnerCenter
) -> None:
    fake.script(
        "GET",
        "/v1/customers",
        Canned(200, customers_page(["a"], token="T1")),
        Canned(200, customers_page(["b"], token="T1")),
        Canned(200, customers_page(["never"], token="T1")),
    )

    assert [c.id for c in client.iter_customers(size=1)] == ["a", "b"]
    assert len(fake.requests) == 2


def test_users_are_paged_like_customers(
    client: PartnerCenterClient, fake: FakePartnerCenter
) -> None:
    user = example("user.json")
    fake.script(
        "GET",
        f"/v1/customers/{CID}/users",
        Canned(200, {"items": [user], "continuationToken": "U1"}),
        Canned(200, {"items": [{**user, "id": "u2"}]}),
    )

    users = list(client.iter_users(CID, size=1))

    assert [u.id for u in users] == [user["id"], "u2"]
    assert fake.requests[1].header("MS-ContinuationToken") == "U1"


def test_subscriptions_follow_links_next_if_it_ever_appears(
    client: PartnerCenterClient, fake: FakePartnerCenter
) -> None:
    path = f"/v1/customers/{CID}/subscriptions"
    fake.script(
        "GET",
        path,
        Canned(
            200,
            {
                "items": [subscription(id="s1")],
                "links": {
                    "next": {
                        "uri": f"{path}?seekOperation=Next",
                        "method": "GET",
                        "headers": [{"key": "MS-ContinuationToken", "value": "S1"}],
                    }
                },
            },
        ),
        Canned(200, {"items": [subscription(id="s2")]}),
    )

    subs = client.list_subscriptions(CID)

    assert [s.id for s in subs] == ["s1", "s2"]
    assert fake.requests[1].header("MS-ContinuationToken") == "S1"


def test_subscriptions_of_an_order_are_filtered_by_order_id(
    client: PartnerCenterClient, fake: FakePartnerCenter
) -> None:
    fake.script("GET", f"/v1/customers/{CID}/subscriptions", Canned(200, {"items": []}))

    assert client.list_subscriptions(CID, order_id="ord-1") == []
    assert fake.requests[0].query == {"order_id": "ord-1"}


def test_offers_are_paged_by_offset(
    client: PartnerCenterClient, fake: FakePartnerCenter
) -> None:
    offer = example("offer_target.json")

    def offers(seen: SeenRequest) -> Canned:
        offset = int(seen.query["offset"])
        ids = [f"o{i}" for i in range(5)][offset : offset + int(seen.query["size"])]
        return Canned(
            200, {"totalCount": 5, "items": [{**offer, "id": i} for i in ids]}
        )

    fake.script("GET", "/v1/offers", offers)

    ids = [o.id for o in client.iter_offers("GB", size=2)]

    assert ids == ["o0", "o1", "o2", "o3", "o4"]
    assert [r.query["offset"] for r in fake.requests] == ["0", "2", "4"]
    assert {r.query["country"] for r in fake.requests} == {"GB"}


def test_offer_paging_stops_if_the_server_ignores_the_offset(
    client: PartnerCenterClient, fake: FakePartnerCenter
) -> None:
    offer = example("offer_target.json")
    fake.script("GET", "/v1/offers", Canned(200, {"items": [offer, offer]}))

    assert len(list(client.iter_offers(size=2))) == 2
    assert len(fake.requests) == 2


# ------------------------------------------------------------- subscription PATCH


def test_update_subscription_patches_the_full_object_with_if_match(
    client: PartnerCenterClient, fake: FakePartnerCenter
) -> None:
    current = subscription()
    fake.script("GET", SUB_PATH, Canned(200, current))
    fake.script("PATCH", SUB_PATH, lambda seen: Canned(200, seen.body))

    sub = client.suspend_subscription(CID, SID, request_id="r-s")

    patch = fake.calls("PATCH")[0]
    assert sub.status == "suspended"
    assert patch.body == {**current, "status": "suspended"}
    assert patch.header("If-Match") == '"eyJpZCI6Ijk2"'
    assert patch.header("MS-RequestId") == "r-s"
    get = fake.calls("GET")[0]
    assert get.header("MS-RequestId") != "r-s"
    assert get.header("MS-CorrelationId") == patch.header("MS-CorrelationId")


def test_update_subscription_prefers_the_callers_etag(
    client: PartnerCenterClient, fake: FakePartnerCenter
) -> None:
    fake.script("GET", SUB_PATH, Canned(200, subscription(attributes={"etag": "new"})))
    fake.script(
        "PATCH",
        SUB_PATH,
        Canned(400, {"code": 2055, "description": "Etag is no longer valid"}),
    )

    with pytest.raises(PermanentError) as caught:
        client.set_auto_renew(CID, SID, False, request_id="r", etag="old")

    assert caught.value.code == 2055
    assert fake.calls("PATCH")[0].header("If-Match") == '"old"'
    assert fake.calls("PATCH")[0].body["autoRenewEnabled"] is False


def test_update_subscription_accepts_snake_case_changes(
    client: PartnerCenterClient, fake: FakePartnerCenter
) -> None:
    fake.script("GET", SUB_PATH, Canned(200, subscription()))
    fake.script("PATCH", SUB_PATH, lambda seen: Canned(200, seen.body))

    sub = client.update_subscription(
        CID, SID, {"auto_renew_enabled": False, "quantity": 5}, request_id="r"
    )

    assert (sub.auto_renew_enabled, sub.quantity) == (False, 5)
    assert "auto_renew_enabled" not in fake.calls("PATCH")[0].body


def test_update_subscription_sends_nothing_when_already_applied(
    client: PartnerCenterClient, fake: FakePartnerCenter
) -> None:
    fake.script("GET", SUB_PATH, Canned(200, subscription(status="suspended")))

    sub = client.suspend_subscription(CID, SID, request_id="r")

    assert sub.status == "suspended"
    assert fake.calls("PATCH") == []


def test_a_202_is_followed_by_polling_its_location(
    client: PartnerCenterClient, fake: FakePartnerCenter
) -> None:
    fake.script("GET", SUB_PATH, Canned(200, subscription()))
    fake.script(
        "PATCH",
        SUB_PATH,
        Canned(202, raw=b"", headers={"Location": SUB_PATH.removeprefix("/v1")}),
    )
    fake.script(
        "GET",
        SUB_PATH,
        Canned(200, subscription()),
        Canned(202, raw=b""),
        Canned(200, subscription(status="suspended")),
    )

    sub = client.suspend_subscription(CID, SID, request_id="r")

    assert sub.status == "suspended"
    assert [r.method for r in fake.requests] == ["GET", "PATCH", "GET", "GET"]


def test_a_202_that_never_finishes_is_ambiguous(
    fake: FakePartnerCenter,
) -> None:
    pc = PartnerCenterClient(
        fake.api, StaticTokenProvider(TOKEN), poll_interval=0.05, poll_timeout=0.3
    )
    fake.script("GET", SUB_PATH, Canned(200, subscription()), Canned(202, raw=b""))
    fake.script("PATCH", SUB_PATH, Canned(202, raw=b"", headers={"Location": SUB_PATH}))

    with pytest.raises(TransientError) as caught:
        pc.suspend_subscription(CID, SID, request_id="r")

    assert caught.value.ambiguous is True


def test_patching_another_partners_subscription_is_forbidden(
    client: PartnerCenterClient, fake: FakePartnerCenter
) -> None:
    fake.script("GET", SUB_PATH, Canned(200, subscription(partnerId="9988776")))
    fake.script(
        "PATCH",
        SUB_PATH,
        Canned(403, {"code": 20002, "description": "no commerce relationship"}),
    )

    with pytest.raises(Forbidden) as caught:
        client.suspend_subscription(CID, SID, request_id="r")

    assert caught.value.code == 20002


# ------------------------------------------------------------------ other reads


def test_the_remaining_reads_parse_their_documented_bodies(
    client: PartnerCenterClient, fake: FakePartnerCenter
) -> None:
    fake.script(
        "GET",
        f"{SUB_PATH}/provisioningstatus",
        Canned(200, example("provisioning_status.json")),
    )
    fake.script(
        "GET",
        f"/v1/customers/{CID}/orders/o1",
        Canned(200, example("order_created.json")),
    )
    fake.script(
        "GET",
        f"/v1/customers/{CID}/orders",
        Canned(200, {"items": [example("order_created.json")]}),
    )
    fake.script("GET", "/v1/offers/OFFER", Canned(200, example("offer_target.json")))
    fake.script(
        "GET", f"/v1/customers/{CID}/users/u1", Canned(200, example("user.json"))
    )
    fake.script(
        "GET",
        f"/v1/customers/{CID}/users/u1/licenses",
        Canned(200, example("user_licenses.json")),
    )
    fake.script(
        "GET",
        f"/v1/customers/{CID}/subscribedskus",
        Canned(200, {"items": [example("subscribed_sku.json")]}),
    )
    fake.script(
        "GET",
        "/v1/customers/relationshiprequests",
        Canned(200, example("relationship_request.json")),
    )

    status = client.get_subscription_provisioning_status(CID, SID)
    order = client.get_order(CID, "o1")
    orders = client.list_orders(CID)
    offer = client.get_offer("OFFER")
    user = client.get_user(CID, "u1")
    licences = client.get_user_licenses(CID, "u1")
    skus = client.list_subscribed_skus(CID)
    invitation = client.get_relationship_request()

    assert status.sku_id == "6fd2c87f-b296-42f0-b197-1e91e994b900"
    assert order.status == "pending" and orders[0].id == order.id
    assert offer.product is not None and offer.product.id
    assert fake.calls("GET", "/v1/offers/OFFER")[0].query == {"country": "US"}
    assert user.usage_location == "US"
    assert licences[0].sku_id == "efccb6f7-5641-4e0e-bd10-b4976e1bf68e"
    assert skus[0].available_units == 4
    assert invitation.url is not None


def test_ids_are_escaped_in_paths(
    client: PartnerCenterClient, fake: FakePartnerCenter
) -> None:
    fake.script("GET", "/v1/customers/a%2Fb", Canned(200, {"id": "a/b"}))

    assert client.get_customer("a/b").id == "a/b"


class CountingTokens:
    """A token provider that hands out t1, t2, ... and counts invalidations."""

    def __init__(self) -> None:
        self.issued = 0
        self.invalidated = 0
        self._current: str | None = None

    def get_token(self) -> str:
        if self._current is None:
            self.issued += 1
            self._current = f"t{self.issued}"
        return self._current

    def invalidate(self) -> None:
        self.invalidated += 1
        self._current = None


def test_a_throttled_poll_after_a_202_is_an_ambiguous_transient_error(
    client: PartnerCenterClient, fake: FakePartnerCenter
) -> None:
    fake.script(
        "GET",
        SUB_PATH,
        Canned(200, subscription()),
        Canned(429, raw=b"", headers={"Retry-After": "30"}),
    )
    fake.script("PATCH", SUB_PATH, Canned(202, raw=b"", headers={"Location": SUB_PATH}))

    with pytest.raises(TransientError) as caught:
        client.suspend_subscription(CID, SID, request_id="r")

    assert caught.value.ambiguous is True
    assert isinstance(caught.value.__cause__, Throttled)


def test_changes_with_datetimes_are_sent_as_iso_strings(
    client: PartnerCenterClient, fake: FakePartnerCenter
) -> None:
    from datetime import UTC, datetime

    fake.script("GET", SUB_PATH, Canned(200, subscription()))
    fake.script("PATCH", SUB_PATH, lambda seen: Canned(200, seen.body))

    client.update_subscription(
        CID,
        SID,
        {"customTermEndDate": datetime(2026, 6, 30, tzinfo=UTC)},
        request_id="r",
    )

    assert fake.calls("PATCH")[0].body["customTermEndDate"] == "2026-06-30T00:00:00Z"


def test_a_misconfigured_api_url_is_not_a_transient_error() -> None:
    import requests

    pc = PartnerCenterClient("api.example.test/v1", StaticTokenProvider(TOKEN))

    with pytest.raises(requests.exceptions.MissingSchema):
        pc.get_customer(CID)


def test_guids_go_into_paths_in_lower_case_and_offer_ids_as_given(
    client: PartnerCenterClient, fake: FakePartnerCenter
) -> None:
    offer_id = "796B6B5F-613C-4E24-A17C-EBA730D49C02"
    fake.script("GET", SUB_PATH, Canned(200, subscription()))
    fake.script("GET", f"/v1/offers/{offer_id}", Canned(200, {"id": offer_id}))

    client.get_subscription(CID.upper(), SID)
    client.get_offer(offer_id)

    assert [r.path for r in fake.requests] == [SUB_PATH, f"/v1/offers/{offer_id}"]


def test_a_503_with_retry_after_says_how_long_to_wait(
    client: PartnerCenterClient, fake: FakePartnerCenter
) -> None:
    fake.script(
        "POST",
        f"/v1/customers/{CID}/orders",
        Canned(503, raw=b"", headers={"Retry-After": "7"}),
    )

    with pytest.raises(TransientError) as caught:
        client.create_order(CID, [{"offerId": "X", "quantity": 1}], request_id="r-6")

    assert caught.value.retry_after == 7.0
