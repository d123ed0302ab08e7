"""What a live Partner Center does to app+user access, played by the sandbox over HTTP:
rotating refresh tokens, MFA (10001, AADSTS5007x), GDAP refusals (no code, 20002,
2032), an unaccepted
customer agreement (13605) and an indirect reseller of record.

Each test starts from a freshly reset sandbox with every scenario customer (20).
"""

from __future__ import annotations

import uuid

import pytest

from partner_center.auth import MemoryRefreshTokenStore
from partner_center.auth.base import CachingTokenProvider
from partner_center.client import CallRecord, PartnerCenterClient
from partner_center.config import PartnerCenterConfig, build_client
from partner_center.errors import (
    AgreementNotAccepted,
    GdapAccessDenied,
    MfaRequired,
    NoRelationship,
    RefreshTokenExpired,
)
from tests.partner_center.support import SandboxControl


@pytest.fixture
def sandbox(pc_sandbox: SandboxControl) -> SandboxControl:
    pc_sandbox.reset(20, 7)
    return pc_sandbox


@pytest.fixture
def consented() -> str:
    """Return the refresh token an admin's consent stored (new per test)."""
    return f"sbx-consent-{uuid.uuid4().hex}"


def user_client(
    sandbox: SandboxControl, store: MemoryRefreshTokenStore
) -> PartnerCenterClient:
    return build_client(
        PartnerCenterConfig.sandbox(sandbox.url, refresh_token_store=store)
    )


def customer(pc: PartnerCenterClient, name: str) -> str:
    return next(
        c.id
        for c in pc.iter_customers()
        if c.company_profile and c.company_profile.company_name == name
    )


def test_two_workers_share_one_rotating_refresh_token_chain(
    sandbox: SandboxControl, consented: str
) -> None:
    sandbox.settings(refresh_token_grace_seconds=0)
    store = MemoryRefreshTokenStore(consented)
    workers = [user_client(sandbox, store), user_client(sandbox, store)]

    for step in range(20):
        worker = workers[step % 2]
        assert worker.user_tokens is not None
        worker.get_relationship_request()
        worker.user_tokens.invalidate()

    assert store.saved == 20
    assert store.load() not in (None, consented)


def test_a_replaced_refresh_token_asks_for_a_new_consent(
    sandbox: SandboxControl, consented: str
) -> None:
    sandbox.settings(refresh_token_grace_seconds=0)
    used = user_client(sandbox, MemoryRefreshTokenStore(consented))
    used.get_relationship_request()
    # A process that never saw the rotation still holds the consented token.
    stale = user_client(sandbox, MemoryRefreshTokenStore(consented))

    with pytest.raises(RefreshTokenExpired) as caught:
        stale.get_relationship_request()

    text = str(caught.value)
    assert "AADSTS700082" in text and "consent" in text
    assert consented not in text


def test_an_app_user_call_without_mfa_raises_mfa_required_once(
    sandbox: SandboxControl, consented: str
) -> None:
    sandbox.settings(require_mfa=True, user_tokens_mfa=False)
    pc = user_client(sandbox, MemoryRefreshTokenStore(consented))

    customers = list(pc.iter_customers())  # app-only: unaffected
    with pytest.raises(MfaRequired) as caught:
        pc.get_relationship_request()

    assert customers
    assert "multi-factor authentication" in caught.value.message
    calls = [
        r
        for r in sandbox.state()["requests"]
        if r["path"].endswith("/relationshiprequests")
    ]
    assert [c["status"] for c in calls] == [401]


@pytest.mark.parametrize("code", [50076, 50078, 50079])
def test_entra_refusing_the_sign_in_for_mfa_says_sign_in_again_with_mfa(
    sandbox: SandboxControl, consented: str, code: int
) -> None:
    sandbox.settings(user_tokens_mfa=False, mfa_refusal=f"aadsts{code}")
    pc = user_client(sandbox, MemoryRefreshTokenStore(consented))

    with pytest.raises(MfaRequired) as caught:
        pc.get_relationship_request()

    assert "Sign in again with MFA" in caught.value.message
    assert caught.value.expired is (code == 50078)
    assert "rejected the token" not in caught.value.message


@pytest.mark.parametrize("style", ["no_code", "access_denied"])
def test_a_gdap_refusal_names_the_missing_role_and_leaves_subscriptions_readable(
    sandbox: SandboxControl, style: str
) -> None:
    sandbox.settings(gdap_refusal=style)
    pc = build_client(PartnerCenterConfig.sandbox(sandbox.url))
    cid = customer(pc, "Wingtip Toys")

    subscriptions = pc.list_subscriptions(cid)
    with pytest.raises(GdapAccessDenied) as reading:
        list(pc.iter_users(cid))
    with pytest.raises(GdapAccessDenied) as counting:
        pc.list_subscribed_skus(cid)
    sandbox.patch(f"/_sandbox/customers/{cid}", {"gdapRoles": ["Directory Readers"]})
    [user, *_] = list(pc.iter_users(cid))
    with pytest.raises(GdapAccessDenied) as moving:
        pc.update_user_licenses(cid, user.id, [], [], request_id=str(uuid.uuid4()))

    assert subscriptions
    assert "Directory Readers" in reading.value.message
    assert "Global Reader" in counting.value.message
    assert "License Administrator" in moving.value.message
    assert "Directory Readers" not in moving.value.needed_roles


def test_a_refusal_as_no_relationship_is_said_as_such(
    sandbox: SandboxControl,
) -> None:
    sandbox.settings(gdap_refusal="no_relationship")
    pc = build_client(PartnerCenterConfig.sandbox(sandbox.url))
    cid = customer(pc, "Wingtip Toys")

    with pytest.raises(NoRelationship) as caught:
        pc.list_subscribed_skus(cid)

    assert "no relationship" in caught.value.message


def test_the_customer_agreement_is_read_by_type(sandbox: SandboxControl) -> None:
    pc = build_client(PartnerCenterConfig.sandbox(sandbox.url))

    recorded = pc.list_customer_agreements(customer(pc, "Wingtip Toys"))
    missing = pc.list_customer_agreements(customer(pc, "Woodgrove Bank"))

    assert [a.is_customer_agreement for a in recorded] == [True]
    assert recorded[0].template_id == "117a77b0-9360-443b-8795-c6dedc750cf9"
    assert missing == []


def test_a_customer_without_the_agreement_cannot_be_sold_to(
    sandbox: SandboxControl,
) -> None:
    pc = build_client(PartnerCenterConfig.sandbox(sandbox.url))
    cid = customer(pc, "Woodgrove Bank")
    item = next(
        a.catalog_item_id
        for a in pc.list_availabilities("CFQ7TTC0MBMC", "0001")
        if a.catalog_item_id
    )

    with pytest.raises(AgreementNotAccepted) as caught:
        pc.create_order(
            cid,
            [{"offerId": item, "quantity": 1, "termDuration": "P1Y"}],
            request_id=str(uuid.uuid4()),
        )

    assert caught.value.party == "customer"
    assert "Customer Agreement" in caught.value.where


def test_an_indirect_resellers_subscription_is_still_ours_to_change(
    sandbox: SandboxControl,
) -> None:
    pc = build_client(PartnerCenterConfig.sandbox(sandbox.url))
    cid = customer(pc, "Humongous Insurance")
    sub = next(s for s in pc.list_subscriptions(cid) if s.auto_renew_enabled)

    after = pc.set_auto_renew(cid, sub.id, False, request_id=str(uuid.uuid4()))

    assert sub.partner_id == "6655443"
    assert after.auto_renew_enabled is False


@pytest.mark.parametrize("mfa", [True, False])
def test_the_user_tokens_mfa_claim_and_app_user_calls_can_be_shown(
    sandbox: SandboxControl, consented: str, mfa: bool
) -> None:
    # Shown, not enforced: this test is about the claim the page displays.
    sandbox.settings(user_tokens_mfa=mfa, require_mfa=False)
    records: list[CallRecord] = []
    pc = build_client(
        PartnerCenterConfig.sandbox(
            sandbox.url, refresh_token_store=MemoryRefreshTokenStore(consented)
        ),
        on_call=records.append,
    )

    pc.get_relationship_request()
    list(pc.iter_customers(size=500))

    assert isinstance(pc.user_tokens, CachingTokenProvider)
    assert pc.user_tokens.has_mfa_claim is mfa
    assert pc.user_tokens.claims["idtyp"] == "user"
    assert [r.app_user for r in records] == [True, False]
