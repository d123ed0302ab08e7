"""What a live Partner Center does that a demo rarely shows: rotating refresh
tokens, MFA on app+user calls, GDAP roles, indirect resellers, licences from other
channels and an unaccepted customer agreement."""

from __future__ import annotations

import base64
import json
from typing import Any

import requests

from sandbox import products
from sandbox.seed import (
    HUMONGOUS,
    HUMONGOUS_RESELLER,
    NORTHWIND,
    RELECLOUD,
    WINGTIP,
    WOODGROVE,
)

FORM = {"client_id": "sandbox-app", "client_secret": "sandbox-secret"}


def _refresh(api: Any, token: str) -> requests.Response:
    """Redeem a refresh token at the v1 token endpoint."""
    return requests.post(
        f"{api.url}/partner-tenant/oauth2/token",
        data={
            **FORM,
            "grant_type": "refresh_token",
            "refresh_token": token,
            "resource": "https://api.partnercenter.microsoft.com",
        },
        timeout=10,
    )


def _claims(token: str) -> dict[str, Any]:
    """Return the claims of a JWT-shaped access token."""
    body = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))))


def _get(api: Any, path: str, token: str) -> requests.Response:
    """GET /v1{path} with a given access token."""
    return requests.get(
        f"{api.url}/v1{path}", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )


def test_each_refresh_rotates_and_a_replaced_token_fails_after_the_grace(
    api: Any,
) -> None:
    assert _refresh(api, "stored-at-consent").status_code == 200
    assert _refresh(api, "stored-at-consent").status_code == 200  # grace not set
    api.settings(refresh_token_grace_seconds=0)
    first = _refresh(api, "another-root").json()["refresh_token"]
    second = _refresh(api, first).json()["refresh_token"]
    assert second != first
    reused = _refresh(api, first)
    assert reused.status_code == 400
    body = reused.json()
    assert body["error"] == "invalid_grant" and body["error_codes"] == [700082]
    assert body["error_description"].startswith("AADSTS700082")
    assert _refresh(api, "another-root").status_code == 400
    assert _refresh(api, second).status_code == 200
    api.settings(refresh_token_grace_seconds=60)
    third = _refresh(api, "a-third-root").json()["refresh_token"]
    assert _refresh(api, third).status_code == 200
    assert _refresh(api, third).status_code == 200  # inside the grace


def test_a_chain_of_200_refreshes_that_keeps_the_newest_token_never_fails(
    api: Any,
) -> None:
    api.settings(refresh_token_grace_seconds=0)
    token = "consented"
    for _ in range(200):
        response = _refresh(api, token)
        assert response.status_code == 200, response.text
        token = response.json()["refresh_token"]


def test_app_user_calls_without_mfa_are_refused_with_10001_by_default(
    api: Any,
) -> None:
    api.settings(user_tokens_mfa=False)
    without = _refresh(api, "root").json()["access_token"]
    assert _claims(without)["idtyp"] == "user"
    assert "mfa" not in _claims(without)["amr"]
    refused = _get(api, "/customers?size=1", without)
    # Reference: https://github.com/microsoft/Partner-Center-DotNet-Samples/issues/59
    assert refused.status_code == 401 and refused.json()["code"] == 10001
    assert refused.json()["description"] == "Authentication failed. MFA required."
    assert _claims(api.token)["idtyp"] == "app"
    assert _get(api, "/customers?size=1", api.token).status_code == 200
    api.settings(user_tokens_mfa=True)
    with_mfa = _refresh(api, "signed-in-again").json()["access_token"]
    assert "mfa" in _claims(with_mfa)["amr"]
    assert _get(api, "/customers?size=1", with_mfa).status_code == 200
    api.settings(require_mfa=False)
    assert _get(api, "/customers?size=1", without).status_code == 200


def test_entra_can_refuse_the_redemption_itself_with_each_mfa_code(
    api: Any,
) -> None:
    api.settings(user_tokens_mfa=False)
    for code in (50076, 50078, 50079):
        api.settings(mfa_refusal=f"aadsts{code}")
        refused = _refresh(api, f"root-{code}")
        assert refused.status_code == 400
        body = refused.json()
        assert body["error_codes"] == [code]
        assert body["error_description"].startswith(f"AADSTS{code}:")
    # A refused sign-in's refresh token still lacks MFA; a new sign-in has it.
    api.settings(user_tokens_mfa=True)
    assert _refresh(api, "root-50076").status_code == 400
    assert _refresh(api, "signed-in-with-mfa").status_code == 200


def test_a_gdap_relationship_without_directory_roles_hides_users_not_subscriptions(
    api: Any,
) -> None:
    tenant = api.scenario(WINGTIP)
    cid, uid = tenant["id"], tenant["users"][0]["id"]
    assert api.get(f"/customers/{cid}/subscriptions").status_code == 200
    denied = api.get(f"/customers/{cid}/users")
    # The strictest default: the field's refusal, with no code at all.
    assert denied.status_code == 403 and "code" not in denied.json()
    assert "supplied role does not have the rights" in denied.json()["description"]
    assert api.get(f"/customers/{cid}/users/{uid}/licenses").status_code == 403
    assert api.get(f"/customers/{cid}/subscribedskus").status_code == 403
    api.control("PATCH", f"/customers/{cid}", {"gdapRoles": ["Directory Readers"]})
    assert api.get(f"/customers/{cid}/users").status_code == 200
    assert api.get(f"/customers/{cid}/subscribedskus").status_code == 200
    sku = products.sku(products.BUSINESS_STANDARD).entra_sku_id
    move = {"licensesToRemove": [sku]}
    path = f"/customers/{cid}/users/{uid}/licenseupdates"
    api.control("PATCH", f"/customers/{cid}", {"gdapRefusal": "access_denied"})
    assert api.post(path, json=move).json()["code"] == 2032
    api.control(
        "PATCH",
        f"/customers/{cid}",
        {"gdapRefusal": {"licenseupdates": "no_relationship"}},
    )
    assert api.post(path, json=move).json()["code"] == 20002
    api.control("PATCH", f"/customers/{cid}", {"gdapRoles": ["License Administrator"]})
    assert api.post(path, json=move).status_code == 201


def test_subscribed_skus_need_a_directory_role(api: Any) -> None:
    tenant = api.scenario(WINGTIP)
    cid = tenant["id"]
    # Reference: https://learn.microsoft.com/en-us/partner-center/developer/get-a-list-of-available-licenses
    for role, status in (
        ("Billing Administrator", 403),
        ("Directory Writers", 403),
        ("Global Reader", 200),
        ("License Administrator", 200),
    ):
        api.control("PATCH", f"/customers/{cid}", {"gdapRoles": [role]})
        assert api.get(f"/customers/{cid}/subscribedskus").status_code == status, role


def test_a_removed_relationship_refuses_every_customer_call_with_20002(
    api: Any,
) -> None:
    cid = api.scenario(WINGTIP)["id"]
    api.control("PATCH", f"/customers/{cid}", {"relationshipRemoved": True})
    for path in ("", "/subscriptions", "/subscribedskus", "/agreements"):
        refused = api.get(f"/customers/{cid}{path}")
        assert refused.status_code == 403, path
        assert refused.json()["code"] == 20002


def test_agreements_list_the_customer_agreement_only_when_asked_by_type(
    api: Any,
) -> None:
    cid = api.scenario(WINGTIP)["id"]
    woodgrove = api.scenario(WOODGROVE)["id"]
    # Reference: https://learn.microsoft.com/en-us/rest/api/partner-center/manage-customer-accounts/get-agreements
    # (without agreementType only Microsoft Cloud Agreement confirmations).
    assert api.get(f"/customers/{cid}/agreements").json()["items"] == []
    typed = api.get(
        f"/customers/{cid}/agreements?agreementType=MicrosoftCustomerAgreement"
    ).json()["items"]
    assert [a["type"] for a in typed] == ["MicrosoftCustomerAgreement"]
    assert (
        api.get(
            f"/customers/{woodgrove}/agreements?agreementType=MicrosoftCustomerAgreement"
        ).json()["items"]
        == []
    )


def test_an_indirect_resellers_subscription_is_still_ours_to_change(api: Any) -> None:
    cid = api.scenario(HUMONGOUS)["id"]
    subs = api.get(f"/customers/{cid}/subscriptions").json()["items"]
    assert {s["partnerId"] for s in subs} == {HUMONGOUS_RESELLER}
    by_reseller = api.get(f"/customers/{cid}/subscriptions?mpn_id={HUMONGOUS_RESELLER}")
    assert len(by_reseller.json()["items"]) == len(subs)
    changed = api.patch(
        f"/customers/{cid}/subscriptions/{subs[0]['id']}",
        json={"autoRenewEnabled": False},
    )
    assert changed.status_code == 200 and changed.json()["autoRenewEnabled"] is False
    (reseller,) = api.get(f"/customers/{cid}/relationships").json()["items"]
    assert reseller["mpnId"] == HUMONGOUS_RESELLER
    assert reseller["relationshipType"] == "IsIndirectResellerOf"
    northwind = api.scenario(NORTHWIND)
    foreign = api.patch(
        f"/customers/{northwind['id']}/subscriptions/"
        f"{northwind['subscriptions'][0]['id']}",
        json={"autoRenewEnabled": True},
    )
    assert foreign.status_code == 403 and foreign.json()["code"] == 20002


def test_licences_bought_through_other_channels_show_only_in_subscribed_skus(
    api: Any,
) -> None:
    cid = api.scenario(RELECLOUD)["id"]
    subs = api.get(f"/customers/{cid}/subscriptions").json()["items"]
    assert [(s["offerName"], s["quantity"]) for s in subs] == [("Microsoft 365 E3", 10)]
    skus = {
        s["productSku"]["id"]: s
        for s in api.get(f"/customers/{cid}/subscribedskus").json()["items"]
    }
    e3 = skus[products.sku(products.M365_E3).entra_sku_id]
    assert (e3["activeUnits"], e3["consumedUnits"]) == (18, 16)
    exchange = skus[products.sku(products.EXCHANGE_PLAN1).entra_sku_id]
    assert (exchange["activeUnits"], exchange["consumedUnits"]) == (5, 5)
    assert exchange["productSku"]["skuPartNumber"] == "EXCHANGESTANDARD"


def test_a_customer_without_the_agreement_cannot_buy(api: Any) -> None:
    cid = api.scenario(WOODGROVE)["id"]
    assert api.get(f"/customers/{cid}/agreements").json()["items"] == []
    line = {
        "catalogItemId": products.sku(products.M365_E3_NO_TEAMS).catalog_item_id,
        "quantity": 6,
        "termDuration": "P1Y",
        "billingCycle": "Monthly",
    }
    cart = api.post(f"/customers/{cid}/carts", json={"lineItems": [line]}).json()
    refused = api.post(f"/customers/{cid}/carts/{cart['id']}/checkout")
    assert refused.status_code == 403 and refused.json()["code"] == 13605
    assert api.get(f"/customers/{cid}/carts/{cart['id']}").json()["status"] == "Active"
