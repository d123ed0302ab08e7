"""Seek paging of customers and users, offset paging of offers, customer lookups."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sandbox.seed import CONTOSO, SCENARIO_CUSTOMERS, TREY_RESEARCH
from sandbox.server import SandboxServer


def _walk_with_tokens(api: Any, path: str, size: int) -> list[dict[str, Any]]:
    """Return every item of a seek-paged collection using continuationToken."""
    body = api.get(f"{path}?size={size}").json()
    items = list(body["items"])
    while body.get("continuationToken"):
        response = api.get(
            f"{path}?size={size}&seekOperation=Next",
            headers={"MS-ContinuationToken": body["continuationToken"]},
        )
        assert response.status_code == 200, response.text
        body = response.json()
        items.extend(body["items"])
    return items


def test_it_pages_customers_with_continuation_tokens(
    start: Callable[..., SandboxServer], make_api: Callable[..., Any]
) -> None:
    api = make_api(start(customers=23))
    items = _walk_with_tokens(api, "/customers", 10)
    assert len(items) == 23
    assert len({c["id"] for c in items}) == 23
    names = [c["companyProfile"]["companyName"] for c in items]
    assert names[: len(SCENARIO_CUSTOMERS)] == list(SCENARIO_CUSTOMERS)
    assert all(c["relationshipToPartner"] == "reseller" for c in items)
    assert all(c["attributes"]["objectType"] == "Customer" for c in items)


def test_it_pages_customers_by_following_links_next(
    start: Callable[..., SandboxServer], make_api: Callable[..., Any]
) -> None:
    server = start(customers=12)
    api = make_api(server)
    body = api.get("/customers?size=5").json()
    assert body["links"]["self"]["uri"] == "/v1/customers?size=5"
    pages = [body]
    while "next" in body["links"]:
        link = body["links"]["next"]
        assert link["method"] == "GET"
        headers = {h["key"]: h["value"] for h in link["headers"]}
        assert headers == {"MS-ContinuationToken": body["continuationToken"]}
        assert link["uri"].startswith("/v1/")
        body = api.get(link["uri"][len("/v1") :], headers=headers).json()
        pages.append(body)
    assert [len(p["items"]) for p in pages] == [5, 5, 2]
    last = pages[-1]
    assert "continuationToken" not in last and "next" not in last["links"]


def test_the_last_page_has_no_token_when_the_count_divides_evenly(
    start: Callable[..., SandboxServer], make_api: Callable[..., Any]
) -> None:
    api = make_api(start(customers=10))
    first = api.get("/customers?size=5").json()
    second = api.get(
        "/customers?size=5&seekOperation=Next",
        headers={"MS-ContinuationToken": first["continuationToken"]},
    ).json()
    assert len(second["items"]) == 5
    assert "continuationToken" not in second


def test_with_error2000_style_asking_past_the_end_answers_code_2000(
    start: Callable[..., SandboxServer], make_api: Callable[..., Any]
) -> None:
    api = make_api(start(customers=7, page_end_style="error2000"))
    first = api.get("/customers?size=5").json()
    second = api.get(
        "/customers?size=5&seekOperation=next",
        headers={"MS-ContinuationToken": first["continuationToken"]},
    )
    assert second.status_code == 200
    assert len(second.json()["items"]) == 2
    token = second.json()["continuationToken"]
    past = api.get(
        "/customers?size=5&seekOperation=Next",
        headers={"MS-ContinuationToken": token},
    )
    assert past.status_code == 400
    body = past.json()
    assert body["code"] == 2000 and body["source"] == "PartnerFD"
    assert body["description"]


def test_page_size_is_capped_at_500(
    start: Callable[..., SandboxServer], make_api: Callable[..., Any]
) -> None:
    api = make_api(start(customers=520))
    body = api.get("/customers?size=2000").json()
    assert len(body["items"]) == 500
    assert body["continuationToken"]


def test_a_garbage_continuation_token_is_rejected(api: Any) -> None:
    response = api.get(
        "/customers?size=5&seekOperation=Next",
        headers={"MS-ContinuationToken": "not-a-token"},
    )
    assert response.status_code == 400
    assert response.json()["source"] == "PartnerFD"


def test_a_customer_is_found_by_id_and_unknown_ids_are_404(api: Any) -> None:
    contoso = api.scenario(CONTOSO)
    response = api.get(f"/customers/{contoso['id']}")
    assert response.status_code == 200
    body = response.json()
    assert body["companyProfile"]["companyName"] == CONTOSO
    assert body["companyProfile"]["tenantId"] == contoso["id"]
    assert body["companyProfile"]["domain"] == "contoso.onmicrosoft.com"
    missing = api.get("/customers/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404
    assert set(missing.json()) >= {"code", "description", "source"}


def test_a_pending_invitation_tenant_is_404_and_not_listed(api: Any) -> None:
    trey = api.scenario(TREY_RESEARCH)
    assert api.get(f"/customers/{trey['id']}").status_code == 404
    listed = api.get("/customers?size=500").json()["items"]
    assert trey["id"] not in {c["id"] for c in listed}


def test_it_filters_customers_by_company_name_prefix(api: Any) -> None:
    import json
    from urllib.parse import quote

    spec = json.dumps(
        {"Field": "CompanyName", "Value": "conto", "Operator": "starts_with"}
    )
    body = api.get(f"/customers?size=10&filter={quote(spec)}").json()
    assert [c["companyProfile"]["companyName"] for c in body["items"]] == [CONTOSO]


def test_it_pages_users_with_a_cap_of_100(
    start: Callable[..., SandboxServer], make_api: Callable[..., Any]
) -> None:
    server = start(customers=3)
    api = make_api(server)
    contoso = api.scenario(CONTOSO)
    with server.state.lock:
        store = server.state.users[contoso["id"].lower()]
        for index in range(110):
            uid = str(uuid.uuid4())
            store[uid] = {
                **contoso["users"][0],
                "id": uid,
                "userPrincipalName": f"extra{index}@contoso.onmicrosoft.com",
                "licenses": [],
            }
    total = len(server.state.users[contoso["id"]])
    assert total > 100
    body = api.get(f"/customers/{contoso['id']}/users?size=500").json()
    assert len(body["items"]) == 100
    items = _walk_with_tokens(api, f"/customers/{contoso['id']}/users", 40)
    assert len(items) == total == len({u["id"] for u in items})
    assert items[0]["attributes"]["objectType"] == "CustomerUser"
    assert {"userPrincipalName", "usageLocation", "displayName"} <= set(items[0])


def test_offers_use_offset_paging_with_a_total_count(api: Any) -> None:
    first = api.get("/offers?country=US&offset=0&size=10").json()
    assert first["totalCount"] == 24 and len(first["items"]) == 10
    seen = [o["id"] for o in first["items"]]
    offset = 10
    while offset < first["totalCount"]:
        page = api.get(f"/offers?country=US&offset={offset}&size=10").json()
        seen.extend(o["id"] for o in page["items"])
        offset += 10
    assert len(seen) == len(set(seen)) == 24
    one = api.get(f"/offers/{seen[0]}?country=US")
    assert one.status_code == 200 and one.json()["id"] == seen[0]
    assert api.get("/offers/not-an-offer?country=US").status_code == 404
    assert api.get("/offers").status_code == 400
