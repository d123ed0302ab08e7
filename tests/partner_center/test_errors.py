"""Refusals that need a person to act are raised as their own types, in plain words.

Driven over HTTP by the scripted server with the documented error bodies.
"""

from __future__ import annotations

import uuid

import pytest

from partner_center.client import PartnerCenterClient
from partner_center.errors import (
    AgreementNotAccepted,
    AuthError,
    Forbidden,
    GdapAccessDenied,
    MfaRequired,
    NoRelationship,
    WritesDisabled,
)
from partner_center.records import WriteIntent
from tests.partner_center.support import Canned, FakePartnerCenter

CID = "b44bb1fb-c595-45b0-9e09-d657365580bf"


class CountingTokens:
    def __init__(self) -> None:
        self.issued = 0
        self.invalidated = 0

    def get_token(self) -> str:
        self.issued += 1
        return f"t{self.issued}"

    def invalidate(self) -> None:
        self.invalidated += 1


def fault(code: int, description: str) -> dict[str, object]:
    return {"code": code, "description": description, "source": "PartnerFD"}


# Reference: https://github.com/microsoft/Partner-Center-DotNet-Samples/issues/59
@pytest.mark.parametrize(
    "body",
    [
        {"code": 10001, "description": "Authentication failed. MFA required."},
        {"code": "10001", "description": "Authentication failed. MFA required."},
        {"description": "Authentication failed. MFA required. (10001)"},
    ],
    ids=["code", "code-as-text", "text-only"],
)
def test_a_401_saying_mfa_required_10001_raises_mfa_required_without_a_retry(
    fake: FakePartnerCenter, body: dict[str, object]
) -> None:
    tokens = CountingTokens()
    pc = PartnerCenterClient(fake.api, tokens, user_tokens=tokens)
    fake.script("GET", f"/v1/customers/{CID}/users", Canned(401, body))

    with pytest.raises(MfaRequired) as caught:
        list(pc.iter_users(CID))

    assert isinstance(caught.value, AuthError)
    assert "Sign in again with MFA" in caught.value.message
    assert "rejected the token" not in caught.value.message
    assert len(fake.requests) == 1
    # The next call fetches a fresh token (an admin may have re-consented).
    assert tokens.invalidated == 1


def test_a_plain_401_is_still_an_auth_error_after_one_retry(
    fake: FakePartnerCenter,
) -> None:
    pc = PartnerCenterClient(fake.api, CountingTokens())
    fake.script("GET", f"/v1/customers/{CID}", Canned(401, fault(800001, "no")))

    with pytest.raises(AuthError) as caught:
        pc.get_customer(CID)

    assert type(caught.value) is AuthError
    assert len(fake.requests) == 2


def test_an_unaccepted_customer_agreement_says_who_accepts_what_and_where(
    client: PartnerCenterClient, fake: FakePartnerCenter
) -> None:
    fake.script(
        "POST",
        f"/v1/customers/{CID}/orders",
        Canned(403, fault(13605, "Customer has not accepted the agreement")),
    )

    with pytest.raises(AgreementNotAccepted) as caught:
        client.create_order(CID, [{"offerId": "X", "quantity": 1}], request_id="r")

    error = caught.value
    assert isinstance(error, Forbidden)
    assert (error.party, error.agreement, error.code) == (
        "customer",
        "Microsoft Customer Agreement",
        13605,
    )
    assert "customer has not accepted the Microsoft Customer Agreement" in str(error)
    assert "Partner Center" in error.where and "Account" in error.where
    assert "Choose another target" not in str(error)


def test_an_unaccepted_partner_agreement_names_the_partners_admin(
    client: PartnerCenterClient, fake: FakePartnerCenter
) -> None:
    fake.script(
        "GET",
        f"/v1/customers/{CID}",
        Canned(403, fault(900124, "Partner has not accepted the agreement")),
    )

    with pytest.raises(AgreementNotAccepted) as caught:
        client.get_customer(CID)

    assert caught.value.party == "partner"
    assert "Microsoft Partner Agreement" in caught.value.message
    assert "Legal info" in caught.value.where


def test_a_gdap_403_on_users_names_the_roles_reading_users_needs(
    client: PartnerCenterClient, fake: FakePartnerCenter
) -> None:
    fake.script(
        "GET", f"/v1/customers/{CID}/users", Canned(403, fault(2032, "Access denied"))
    )

    with pytest.raises(GdapAccessDenied) as caught:
        list(client.iter_users(CID))

    error = caught.value
    assert isinstance(error, Forbidden) and error.status == 403
    assert "Directory Readers" in error.needed_roles
    assert "GDAP" in error.message and "Directory Readers" in error.message
    assert error.missing_permission in error.message


def test_a_gdap_403_on_a_licence_move_names_the_licence_roles(
    client: PartnerCenterClient, fake: FakePartnerCenter
) -> None:
    fake.script(
        "POST",
        f"/v1/customers/{CID}/users/u1/licenseupdates",
        Canned(403, fault(2032, "Access denied")),
    )

    with pytest.raises(GdapAccessDenied) as caught:
        client.update_user_licenses(CID, "u1", ["a"], [], request_id="r")

    assert caught.value.needed_roles[0] == "License Administrator"
    assert "Directory Readers" not in caught.value.needed_roles


def test_no_commerce_relationship_20002_is_named_as_such_not_as_a_gdap_gap(
    client: PartnerCenterClient, fake: FakePartnerCenter
) -> None:
    fake.script(
        "GET",
        f"/v1/customers/{CID}/users",
        Canned(403, fault(20002, "No relationship between caller and account")),
    )

    with pytest.raises(NoRelationship) as caught:
        list(client.iter_users(CID))

    assert isinstance(caught.value, Forbidden)
    assert not isinstance(caught.value, GdapAccessDenied)
    assert "no relationship" in caught.value.message
    assert "reseller relationship" in caught.value.message


@pytest.mark.parametrize(
    "body",
    [
        {
            "description": "The supplied role does not have the rights to perform "
            "the requested operation"
        },
        fault(2032, "Access denied"),
        fault(12345, "Forbidden"),
    ],
    ids=["no-code", "2032", "any-other-code"],
)
def test_any_403_on_a_role_gated_call_is_a_probable_gdap_gap_naming_the_roles(
    client: PartnerCenterClient, fake: FakePartnerCenter, body: dict[str, object]
) -> None:
    fake.script("GET", f"/v1/customers/{CID}/subscribedskus", Canned(403, body))

    with pytest.raises(GdapAccessDenied) as caught:
        client.list_subscribed_skus(CID)

    for role in ("Directory Readers", "Global Reader", "User Administrator"):
        assert role in caught.value.missing_permission
    assert "License Administrator" in caught.value.message


@pytest.mark.parametrize("code", [20002, 13605, 900124])
def test_a_403_whose_code_means_something_else_is_not_a_gdap_gap(
    client: PartnerCenterClient, fake: FakePartnerCenter, code: int
) -> None:
    fake.script("GET", f"/v1/customers/{CID}/users", Canned(403, fault(code, "no")))

    with pytest.raises(Forbidden) as caught:
        list(client.iter_users(CID))

    assert not isinstance(caught.value, GdapAccessDenied)


def test_a_purchase_refused_for_the_role_is_not_a_plain_forbidden(
    client: PartnerCenterClient, fake: FakePartnerCenter
) -> None:
    text = (
        "The supplied role does not have the rights to perform the requested operation"
    )
    fake.script(
        "POST", f"/v1/customers/{CID}/orders", Canned(403, {"description": text})
    )

    with pytest.raises(GdapAccessDenied):
        client.create_order(
            CID, [{"offerId": "X", "quantity": 1}], request_id=str(uuid.uuid4())
        )


def test_a_read_only_client_refuses_every_write_before_sending_it(
    fake: FakePartnerCenter,
) -> None:
    refused: list[WriteIntent] = []
    pc = PartnerCenterClient(fake.api, CountingTokens(), read_only=True)
    pc.on_refused = refused.append
    fake.script("GET", f"/v1/customers/{CID}", Canned(200, {"id": CID}))

    assert pc.get_customer(CID).id == CID
    with pytest.raises(WritesDisabled) as caught:
        pc.create_order(
            CID, [{"offerId": "X", "quantity": 1}], request_id=str(uuid.uuid4())
        )

    assert [r.method for r in fake.requests] == ["GET"]
    assert [(r.method, r.path) for r in refused] == [
        ("POST", f"/customers/{CID}/orders")
    ]
    assert "read-only" in caught.value.message
