"""Contract fixtures for agreements, subscribed SKUs and the access refusals.

Each fixture in ``fixtures/access/`` is Microsoft's example (or the field's
report) with its source in ``_source``. The client parses each one and says what
it means; the sandbox's answers are checked against the same fixtures, so the
two cannot drift apart.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from partner_center import errors
from partner_center.auth import token_failure
from partner_center.client import PartnerCenterClient
from sandbox.seed import WINGTIP, WOODGROVE
from tests.partner_center.support import Canned, FakePartnerCenter, SandboxControl

FIXTURES = Path(__file__).parent / "fixtures" / "access"
CID = "14876998-c0dc-46e6-9d0c-65a57a6c32ec"


def fixture(name: str) -> dict[str, Any]:
    """Return the parsed fixture ``fixtures/access/<name>.json``."""
    data = json.loads((FIXTURES / f"{name}.json").read_text())
    assert data["_source"].startswith("https://"), name
    return dict(data)


class Tokens:
    def get_token(self) -> str:
        return "t"

    def invalidate(self) -> None:
        pass


@pytest.fixture
def fake() -> Iterator[FakePartnerCenter]:
    server = FakePartnerCenter()
    yield server
    server.stop()


@pytest.fixture
def client(fake: FakePartnerCenter) -> PartnerCenterClient:
    return PartnerCenterClient(fake.api, Tokens(), user_tokens=Tokens())


# ------------------------------------------------------------ client side


def test_the_documented_agreements_answer_means_an_mca_is_recorded(
    client: PartnerCenterClient, fake: FakePartnerCenter
) -> None:
    example = fixture("agreements_customer_agreement")
    fake.script("GET", f"/v1/customers/{CID}/agreements", Canned(200, example["body"]))

    agreements = client.list_customer_agreements(CID)

    assert [a.is_customer_agreement for a in agreements] == [True, True]
    assert agreements[0].template_id == "117a77b0-9360-443b-8795-c6dedc750cf9"
    assert agreements[0].primary_contact is not None
    assert agreements[0].primary_contact.email == "SomeEmail@example.com"
    assert agreements[0].date_agreed is not None
    # The type is always asked for: the documented default is the other agreement.
    [seen] = fake.requests
    assert seen.query == example["request"]["query"]


def test_the_documented_subscribed_sku_keeps_its_counts_and_ids(
    client: PartnerCenterClient, fake: FakePartnerCenter
) -> None:
    example = fixture("subscribed_skus")
    path = f"/v1/customers/{CID}/subscribedskus"
    fake.script("GET", path, Canned(200, example["body"]))

    [sku] = client.list_subscribed_skus(CID)

    assert sku.sku_id == "efccb6f7-5641-4e0e-bd10-b4976e1bf68e"
    assert (sku.active_units, sku.consumed_units, sku.available_units) == (5, 1, 4)
    assert sku.product_sku is not None and sku.product_sku.sku_part_number == "EMS"


@pytest.mark.parametrize(
    "name",
    [
        "error_role_refusal_no_code",
        "error_no_relationship_20002",
        "error_gdap_2032",
        "error_customer_agreement_13605",
    ],
)
def test_each_access_refusal_on_a_role_gated_read_means_what_it_says(
    client: PartnerCenterClient, fake: FakePartnerCenter, name: str
) -> None:
    example = fixture(name)
    path = f"/v1/customers/{CID}/subscribedskus"
    fake.script("GET", path, Canned(example["status"], example["body"]))

    with pytest.raises(errors.Forbidden) as caught:
        client.list_subscribed_skus(CID)

    assert type(caught.value).__name__ == example["means"]


@pytest.mark.parametrize("body", ["body", "text_only_body"])
def test_the_mfa_refusal_means_sign_in_again_with_mfa(
    client: PartnerCenterClient, fake: FakePartnerCenter, body: str
) -> None:
    example = fixture("error_mfa_required_10001")
    fake.script(
        "GET", f"/v1/customers/{CID}/users", Canned(example["status"], example[body])
    )

    with pytest.raises(errors.MfaRequired) as caught:
        list(client.iter_users(CID))

    assert "Sign in again with MFA" in caught.value.message


def test_entra_mfa_refusals_mean_sign_in_again_with_mfa() -> None:
    example = fixture("entra_mfa_refusals")
    for body in example["bodies"]:
        failure = token_failure(
            "app+user",
            status=example["status"],
            error=body["error"],
            description=body["error_description"],
        )
        assert isinstance(failure, errors.MfaRequired), body
        assert failure.expired is (body["error_codes"] == [50078])


# ----------------------------------------------------------- sandbox side


@pytest.fixture
def strict(sandbox_server: Any) -> Iterator[tuple[SandboxControl, requests.Session]]:
    """Return control of a reseeded sandbox and an app-token HTTP session."""
    control = SandboxControl(sandbox_server.url)
    control.reset(20, 7)
    control.settings(gdap_refusal="no_code", require_mfa=True, user_tokens_mfa=True)
    token = requests.post(
        f"{sandbox_server.url}/partner-tenant/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "sandbox-app",
            "client_secret": "sandbox-secret",
            "resource": "https://api.partnercenter.microsoft.com",
        },
        timeout=10,
    ).json()["access_token"]
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {token}"
    http.headers["MS-RequestId"] = str(uuid.uuid4())
    yield control, http
    control.settings(gdap_refusal="no_code")


def _tenant(control: SandboxControl, name: str) -> str:
    return str(
        next(c["id"] for c in control.state()["customers"] if c["companyName"] == name)
    )


def test_the_sandbox_agreements_answer_has_the_documented_shape(
    strict: tuple[SandboxControl, requests.Session],
) -> None:
    control, http = strict
    documented = fixture("agreements_customer_agreement")["body"]["items"][0]
    cid = _tenant(control, WINGTIP)

    answer = http.get(
        f"{control.url}/v1/customers/{cid}/agreements",
        params={"agreementType": "MicrosoftCustomerAgreement"},
        timeout=10,
    ).json()

    [item] = answer["items"]
    assert set(documented) <= set(item)
    assert item["type"] == documented["type"]
    assert item["templateId"] == documented["templateId"]
    assert set(documented["primaryContact"]) <= set(item["primaryContact"])


def test_the_sandbox_subscribed_skus_have_the_documented_shape(
    strict: tuple[SandboxControl, requests.Session],
) -> None:
    control, http = strict
    documented = fixture("subscribed_skus")["body"]["items"][0]
    cid = _tenant(control, WOODGROVE)

    items = http.get(
        f"{control.url}/v1/customers/{cid}/subscribedskus", timeout=10
    ).json()["items"]

    assert items
    for item in items:
        assert set(documented) - {"servicePlans"} <= set(item)
        assert set(documented["productSku"]) <= set(item["productSku"])


@pytest.mark.parametrize(
    ("style", "name"),
    [
        ("no_code", "error_role_refusal_no_code"),
        ("no_relationship", "error_no_relationship_20002"),
        ("access_denied", "error_gdap_2032"),
    ],
)
def test_the_sandbox_gdap_refusals_match_the_fixtures(
    strict: tuple[SandboxControl, requests.Session], style: str, name: str
) -> None:
    control, http = strict
    documented = fixture(name)
    control.settings(gdap_refusal=style)
    cid = _tenant(control, WINGTIP)

    refused = http.get(f"{control.url}/v1/customers/{cid}/subscribedskus", timeout=10)

    assert refused.status_code == documented["status"]
    body = refused.json()
    assert body.get("code") == documented["body"].get("code")
    assert body["description"] == documented["body"]["description"]
    assert body["source"] == documented["body"]["source"]


def test_the_sandbox_mfa_refusal_matches_the_fixture(
    strict: tuple[SandboxControl, requests.Session],
) -> None:
    control, _ = strict
    documented = fixture("error_mfa_required_10001")
    control.settings(user_tokens_mfa=False)
    try:
        token = requests.post(
            f"{control.url}/partner-tenant/oauth2/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": f"contract-{uuid.uuid4().hex}",
                "client_id": "sandbox-app",
                "client_secret": "sandbox-secret",
                "resource": "https://api.partnercenter.microsoft.com",
            },
            timeout=10,
        ).json()["access_token"]
        refused = requests.get(
            f"{control.url}/v1/customers",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
    finally:
        control.settings(user_tokens_mfa=True)

    assert refused.status_code == documented["status"]
    assert refused.json()["code"] == documented["body"]["code"]
    assert refused.json()["description"] == documented["body"]["description"]
