"""Customers and the reseller relationship request (§2, §9)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from sandbox import render
from sandbox.api.common import (
    CUSTOMER_PAGE_CAP,
    Route,
    customer_or_404,
    json_object,
    seek_page,
)
from sandbox.records import INDIRECT_RESELLERS, iso
from sandbox.state import PARTNER_TENANT_ID, SandboxState
from sandbox.web import ApiError, Request, Response


def list_customers(state: SandboxState, request: Request) -> Response:
    """GET /customers?size=N with seek paging and an optional name filter."""
    keys = state.customer_ids()
    extra = ""
    raw_filter = request.query.get("filter")
    if raw_filter:
        keys = _filter_customers(state, keys, raw_filter)
        extra = "&filter=" + quote(raw_filter, safe="")
    scope = "customers" if not raw_filter else f"customers:{raw_filter}"
    body = seek_page(
        state,
        request,
        keys,
        scope=scope,
        cap=CUSTOMER_PAGE_CAP,
        base_uri="/v1/customers",
        render_one=lambda k: render.customer(state.customers[k]),
        extra_query=extra,
    )
    return Response(200, body)


def _filter_customers(state: SandboxState, keys: list[str], raw: str) -> list[str]:
    """Return customer keys matching a SimpleFieldFilter JSON (starts_with)."""
    try:
        spec = {k.lower(): v for k, v in json.loads(raw).items()}
        field = str(spec["field"]).lower()
        value = str(spec["value"]).lower()
    except (ValueError, KeyError, AttributeError, TypeError) as exc:
        raise ApiError(400, 800002, "Invalid request input: filter.") from exc
    attr = {"companyname": "companyName", "domain": "domain"}.get(field)
    if attr is None:
        raise ApiError(400, 3000, f"Invalid property: {spec['field']}")
    return [k for k in keys if str(state.customers[k][attr]).lower().startswith(value)]


def get_customer(state: SandboxState, request: Request, cid: str) -> Response:
    """GET /customers/{id} (404 for unknown and pending-invitation tenants)."""
    return Response(200, render.customer(customer_or_404(state, cid), by_id=True))


def relationship_request(state: SandboxState, request: Request) -> Response:
    """GET /customers/relationshiprequests: the reseller invitation link."""
    url = (
        "https://admin.microsoft.com/Adminportal/Home?invType=ResellerRelationship"
        f"&partnerId={PARTNER_TENANT_ID}&msppId=0&DAP=false"
        "#/BillingAccounts/partner-invitation"
    )
    return Response(
        200, {"url": url, "attributes": {"objectType": "RelationshipRequest"}}
    )


def indirect_resellers(state: SandboxState, request: Request, cid: str) -> Response:
    """GET /customers/{cid}/relationships: the indirect resellers of a customer."""
    customer = customer_or_404(state, cid)
    items = [
        {
            "id": mpn,
            "name": INDIRECT_RESELLERS.get(mpn, mpn),
            "relationshipType": "IsIndirectResellerOf",
            "state": "Active",
            "mpnId": mpn,
            "attributes": {"objectType": "PartnerRelationship"},
        }
        for mpn in customer.get("indirectResellers", [])
    ]
    return Response(200, render.collection(items))


MCA_TEMPLATE_ID = "117a77b0-9360-443b-8795-c6dedc750cf9"


def _agreement_json(customer: dict[str, Any]) -> dict[str, Any]:
    """Return the customer's Microsoft Customer Agreement acceptance resource."""
    # A seeded acceptance names the customer's billing contact, as the
    # documented example names the accepting user.
    contact = customer.get("mcaContact") or {
        "firstName": customer.get("billingFirstName"),
        "lastName": customer.get("billingLastName"),
        "email": customer.get("billingEmail"),
        "phoneNumber": None,
    }
    return {
        "primaryContact": contact,
        "templateId": MCA_TEMPLATE_ID,
        "dateAgreed": customer.get("mcaDateAgreed") or "2024-01-01T00:00:00Z",
        "type": "MicrosoftCustomerAgreement",
        "agreementLink": "https://aka.ms/customeragreement",
        "attributes": {"objectType": "Agreement"},
    }


def list_agreements(state: SandboxState, request: Request, cid: str) -> Response:
    """GET /customers/{cid}/agreements[?agreementType=…]: recorded confirmations.

    Without ``agreementType`` only Microsoft Cloud Agreement confirmations are
    listed (the documented default); ``*`` lists every type.
    """
    # Reference: https://learn.microsoft.com/en-us/rest/api/partner-center/manage-customer-accounts/get-agreements
    customer = customer_or_404(state, cid)
    kind = (request.query.get("agreementtype") or "MicrosoftCloudAgreement").lower()
    accepted = customer.get("mcaAccepted", True)
    wanted = kind in ("microsoftcustomeragreement", "*")
    items = [_agreement_json(customer)] if accepted and wanted else []
    return Response(200, render.collection(items))


def accept_agreement(state: SandboxState, request: Request, cid: str) -> Response:
    """POST /customers/{cid}/agreements: confirm the customer accepted the MCA."""
    customer = customer_or_404(state, cid)
    body = json_object(request, "an Agreement")
    contact = body.get("primarycontact")
    if not isinstance(contact, dict) or not contact.get("email"):
        raise ApiError(
            400, 800002, "Invalid request input: primaryContact.email is required."
        )
    customer["mcaAccepted"] = True
    customer["mcaDateAgreed"] = str(body.get("dateagreed") or iso(state.now()))
    customer["mcaContact"] = {
        "firstName": contact.get("firstname"),
        "lastName": contact.get("lastname"),
        "email": contact.get("email"),
        "phoneNumber": contact.get("phonenumber"),
    }
    return Response(201, _agreement_json(customer))


ROUTES: list[Route] = [
    ("/customers", {"GET": list_customers}),
    ("/customers/relationshiprequests", {"GET": relationship_request}),
    ("/customers/{cid}", {"GET": get_customer}),
    ("/customers/{cid}/agreements", {"GET": list_agreements, "POST": accept_agreement}),
    ("/customers/{cid}/relationships", {"GET": indirect_resellers}),
]
