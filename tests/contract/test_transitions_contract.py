"""Transitions against Microsoft's own examples: the client reads them as meant,
and the sandbox answers in the same shape, so neither can drift from the docs.

Fixtures: `fixtures/transitions/*.json`, each with the page it comes from in
`_source`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from partner_center.models import Transition, TransitionEligibility, TransitionHistory
from partner_center.models.transitions import (
    TRANSITION_ONLY,
    TRANSITION_WITH_LICENSE_TRANSFER,
)
from partner_center.wire import as_body
from sandbox.seed import ALPINE_SKI_HOUSE
from sandbox.server import SandboxServer, start_sandbox

FIXTURES = Path(__file__).parent / "fixtures" / "transitions"
E3 = "CFQ7TTC0LF8R:0001:CFQ7TTC0KCSV"  # Office 365 E3, a target of Alpine's E1
TIMEOUT = 10


def fixture(name: str) -> dict[str, Any]:
    """Return a fixture without its `_source` / `_note` fields."""
    body = json.loads((FIXTURES / name).read_text())
    assert body.pop("_source").startswith("https://learn.microsoft.com/")
    body.pop("_note", None)
    return dict(body)


# ---------------------------------------------------------------- the client


def test_a_documented_full_transition_is_finished_by_its_event_log() -> None:
    [done] = TransitionHistory.model_validate(fixture("get_transitions.json")).items
    assert done.operation_id == "1caf8ec7-62cc-4ab5-b35d-572d2a62974c"
    assert done.from_catalog_item_id == "CFQ7TTC0LDPB:0001:CFQ7TTC0LGNT"
    assert done.to_catalog_item_id == "CFQ7TTC0LF8S:0001:CFQ7TTC0K9G9"
    assert done.transition_type == TRANSITION_WITH_LICENSE_TRANSFER
    # No status and no target id: converted in place, finished by the log.
    assert done.status is None and done.to_subscription_id is None
    assert [e.status for e in done.events] == ["Started", "Completed"]
    assert done.finished and not done.failed


def test_a_log_that_has_only_started_is_not_finished() -> None:
    body = fixture("get_transitions.json")["transition"][0]
    body["Events"] = body["Events"][:1]
    started = Transition.model_validate(body)
    assert not started.finished and not started.failed
    body["Events"].append({"name": "Conversion", "status": "Failed"})
    assert Transition.model_validate(body).failed


def test_the_post_answer_has_its_initial_status_and_no_operation_id() -> None:
    answer = Transition.model_validate(fixture("post_transition_response.json"))
    assert answer.operation_id is None and answer.status is None
    assert answer.to_subscription_id == "0af52192-4a2a-4364-d25b-c8ecab3a5697"
    assert answer.billing_cycle == "Monthly" and answer.term_duration == "P1M"
    assert not answer.finished


def test_the_typed_request_is_the_documented_body() -> None:
    documented = fixture("post_transition_request.json")
    request = Transition.model_validate(documented)
    assert as_body(request, exclude={"events", "links", "attributes"}) == documented


def test_eligibilities_say_which_transition_type_is_possible_and_why_not() -> None:
    body = fixture("transition_eligibilities.json")
    e5, premium = (TransitionEligibility.model_validate(i) for i in body["items"])
    assert e5.catalog_item_id == "CFQ7TTC0KZCR:0001:CFQ7TTC0K71H"
    assert e5.eligible_for(TRANSITION_ONLY) and not e5.transfers_licences
    assert not premium.eligible_for(TRANSITION_ONLY)
    [why] = e5.eligibilities[1].errors
    assert (why.code, why.description) == (
        3,
        "Subscription cannot be transitioned because there are conflicting services.",
    )


# ---------------------------------------------------------------- the sandbox


class Api:
    """Raw /v1 calls to a sandbox with an app token."""

    def __init__(self, url: str) -> None:
        self.url = url
        token = requests.post(
            f"{url}/partner-tenant/oauth2/token",
            data={
                "grant_type": "client_credentials",
                "client_id": "sandbox-app",
                "client_secret": "sandbox-secret",
                "resource": "https://graph.windows.net",
            },
            timeout=TIMEOUT,
        )
        token.raise_for_status()
        self.headers = {"Authorization": f"Bearer {token.json()['access_token']}"}

    def call(self, method: str, path: str, body: Any = None) -> Any:
        answer = requests.request(
            method,
            f"{self.url}/v1{path}",
            json=body,
            headers=self.headers,
            timeout=TIMEOUT,
        )
        assert answer.status_code == 200, answer.text
        return answer.json()

    def control(self, method: str, path: str, body: Any = None) -> Any:
        answer = requests.request(
            method, f"{self.url}/_sandbox{path}", json=body, timeout=TIMEOUT
        )
        answer.raise_for_status()
        return answer.json()


@pytest.fixture
def slow_sandbox() -> Iterator[SandboxServer]:
    """A sandbox whose transitions finish only when its clock is moved on."""
    server = start_sandbox(customers=20, seed=7, provisioning_delay_seconds=60)
    try:
        yield server
    finally:
        server.stop()


def _alpine(api: Api) -> tuple[str, str]:
    """Return Alpine Ski House's id and its Office 365 E1 subscription's id."""
    dump = api.control("GET", "/state")
    [cid] = [c["id"] for c in dump["customers"] if c["companyName"] == ALPINE_SKI_HOUSE]
    [sub] = api.call("GET", f"/customers/{cid}/subscriptions")["items"]
    return cid, str(sub["id"])


def _keys(items: list[dict[str, Any]]) -> set[str]:
    return {key for item in items for key in item}


def test_the_sandbox_answers_transitions_in_the_documented_shape(
    slow_sandbox: SandboxServer,
) -> None:
    api = Api(slow_sandbox.url)
    cid, sid = _alpine(api)
    path = f"/customers/{cid}/subscriptions/{sid}"

    targets = api.call("GET", f"{path}/transitionEligibilities")
    documented = fixture("transition_eligibilities.json")
    assert set(documented) <= set(targets)
    assert _keys(documented["items"]) <= _keys(targets["items"])
    assert _keys([e for i in documented["items"] for e in i["eligibilities"]]) <= (
        _keys([e for i in targets["items"] for e in i["eligibilities"]])
    )

    posted = api.call(
        "POST",
        f"{path}/transitions",
        {"toCatalogItemId": E3, "transitionType": TRANSITION_WITH_LICENSE_TRANSFER},
    )
    answer = fixture("post_transition_response.json")
    # The same fields, less the target id this request did not name.
    assert set(posted) == set(answer) - {"toSubscriptionId"}
    assert _keys(posted["Events"]) == _keys(answer["Events"])
    assert [e["status"] for e in posted["Events"]] == ["Started "]

    api.control("POST", "/clock", {"seconds": 61})
    history = api.call("GET", f"{path}/transitions")
    listed = fixture("get_transitions.json")
    assert set(history) >= set(listed)
    [made] = history["transition"]
    [example] = listed["transition"]
    assert set(made) == set(example)
    assert [(e["name"], e["status"]) for e in made["Events"][:2]] == [
        (e["name"], e["status"]) for e in example["Events"]
    ]
    # What the client makes of it: finished, converted in place.
    [read] = TransitionHistory.model_validate(history).items
    assert read.finished and read.to_subscription_id is None
    converted = api.call("GET", path)
    assert (converted["id"], converted["offerId"]) == (sid, E3)
