"""Transition eligibilities and transitions of a subscription (§7.2).

A transition converts seats of the source into a target SKU. With
``transition_with_license_transfer`` the users holding the source's licence get the
target's, except the source's ``transitionStragglers`` (set by a scenario or
``PATCH /_sandbox/customers/{cid}/subscriptions/{sid}``), who are left behind and
named in the SeatReassignment event's errors (code 12). It completes after the
provisioning delay.

Two fidelity settings choose what is UNCONFIRMED, the documented answer first:
``transition_shape`` ``documented`` (a full transition converts the source in place:
same id, new ``offerId``; the answer has no ``toSubscriptionId`` unless one was
asked for, no top-level status, and the POST answer no ``operationId``) or
``with_target_id`` (a new subscription named in ``toSubscriptionId``, a status, the
source expired); ``transition_events`` ``appended`` (a log: ``Started``, later
``Completed``) or ``rewritten`` (each event's status changed in place).
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

from sandbox import nce, products, provisioning, render
from sandbox.api.common import Route, json_object, subscription_or_404
from sandbox.products import Sku
from sandbox.records import iso
from sandbox.state import SandboxState
from sandbox.web import ApiError, Request, Response, snake_enum

TRANSITION_TYPES = ("transition_only", "transition_with_license_transfer")
_NOT_ACTIVE_TEXT = (
    "Subscription cannot be transitioned because the source subscription is not active."
)
_NOT_ACTIVE: dict[str, Any] = {"code": 2, "description": _NOT_ACTIVE_TEXT}


def _targets(sub: dict[str, Any]) -> list[Sku]:
    """Return the SKUs a subscription can transition to."""
    source = products.by_catalog_item(str(sub["offerId"]))
    if source is None:
        return []
    return [products.sku(key) for key in source.transitions]


def _errors(sub: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the eligibility errors of a source subscription."""
    return [] if sub.get("status") == "active" else [dict(_NOT_ACTIVE)]


def eligibilities(
    state: SandboxState, request: Request, cid: str, sid: str
) -> Response:
    """GET …/subscriptions/{sid}/transitionEligibilities?eligibilityType=."""
    sub = subscription_or_404(state, cid, sid)
    kind = (request.query.get("eligibilitytype") or "immediate").lower()
    if kind not in ("immediate", "scheduled"):
        raise ApiError(400, 800002, "Invalid request input: eligibilityType.")
    errors = _errors(sub)
    items = []
    for target in _targets(sub):
        existing = [
            s
            for s in state.subscriptions_of(cid)
            if s["offerId"] == target.catalog_item_id and s.get("status") == "active"
        ]
        items.append(
            {
                "catalogItemId": target.catalog_item_id,
                "title": target.title,
                "description": f"{target.title} ({kind} transition)",
                "quantity": sub["quantity"],
                "eligibilities": [
                    {"isEligible": not errors, "transitionType": t, "errors": errors}
                    for t in TRANSITION_TYPES
                ],
                "subscriptionEligibilities": [
                    {
                        "isEligible": not errors,
                        "subscriptionId": s["id"],
                        "subscriptionFriendlyName": s["friendlyName"],
                        "subscriptionTermDuration": s["termDuration"],
                        "subscriptionBillingCycle": s["billingCycle"],
                        "errors": errors,
                    }
                    for s in existing
                ],
                "attributes": {"objectType": "TransitionEligibility"},
            }
        )
    return Response(200, render.collection(items))


# Reference: https://learn.microsoft.com/en-us/partner-center/developer/get-transitions
# (the history example: PascalCase keys, no subscription ids, "Started " padded)
_LISTED_DOCUMENTED = (
    ("operationId", "operationId"),
    ("fromCatalogItemId", "FromCatalogItemId"),
    ("toCatalogItemId", "ToCatalogItemId"),
    ("quantity", "quantity"),
    ("transitionType", "transitionType"),
)
# Reference: https://learn.microsoft.com/en-us/partner-center/developer/transition-a-new-commerce-subscription
# (the POST answer: the request's fields and its events, no operationId)
_POSTED_DOCUMENTED = (
    "fromCatalogItemId",
    "fromSubscriptionId",
    "toCatalogItemId",
    "intoSubscriptionId",
    "quantity",
    "termDuration",
    "billingCycle",
    "transitionType",
)
_WITH_TARGET_ID = (
    "fromCatalogItemId",
    "fromSubscriptionId",
    "toCatalogItemId",
    "toSubscriptionId",
    "quantity",
    "termDuration",
    "billingCycle",
    "transitionType",
    "operationId",
    "status",
    "creationTime",
)


def _event_json(event: dict[str, Any]) -> dict[str, Any]:
    """Return one ``TransitionEvent`` as rendered."""
    body = {k: v for k, v in event.items() if v is not None}
    body["attributes"] = {"objectType": "TransitionEvent"}
    return body


def transition_json(record: dict[str, Any], *, listed: bool = False) -> dict[str, Any]:
    """Return the ``Transition`` resource in the shape the record was made with.

    ``listed``: as ``GET …/transitions`` renders it (the documented history shape
    differs from the POST answer's).
    """
    if record.get("shape", "documented") != "documented":
        body = {k: record[k] for k in _WITH_TARGET_ID if record.get(k) is not None}
        body["events"] = [_event_json(e) for e in record["events"]]
    elif listed:
        body = {out: record[k] for k, out in _LISTED_DOCUMENTED}
        body["Events"] = [_event_json(e) for e in record["events"]]
    else:
        body = {k: record[k] for k in _POSTED_DOCUMENTED if record.get(k) is not None}
        if "intoSubscriptionId" in body:
            body["toSubscriptionId"] = body.pop("intoSubscriptionId")
        body["Events"] = [_event_json(e) for e in record["events"]]
    body["attributes"] = {"objectType": "Transition"}
    return body


def _first_events(state: SandboxState, kind: str, now: str) -> list[dict[str, Any]]:
    """Return a new transition's events: a ``Started`` log, or one row per step."""
    if state.settings.get("transition_events", "appended") == "appended":
        return [{"name": "Conversion", "status": "Started ", "timestamp": now}]
    events = [{"name": "Conversion", "status": "InProgress", "timestamp": now}]
    if kind == "transition_with_license_transfer":
        events.append(
            {"name": "SeatReassignment", "status": "InProgress", "timestamp": now}
        )
    return events


def create_transition(
    state: SandboxState, request: Request, cid: str, sid: str
) -> Response:
    """POST …/subscriptions/{sid}/transitions → 200 Transition."""
    sub = subscription_or_404(state, cid, sid)
    body = json_object(request, "a Transition")
    target_id = str(body.get("tocatalogitemid") or "")
    target = products.by_catalog_item(target_id)
    if target is None or target not in _targets(sub):
        raise ApiError(
            400,
            800002,
            f"Invalid request input: {target_id or 'toCatalogItemId'} is not a "
            f"transition target of subscription {sub['id']}.",
        )
    if sub.get("status") != "active":
        raise ApiError(400, 800002, _NOT_ACTIVE_TEXT)
    kind = snake_enum(str(body.get("transitiontype") or "transition_only"))
    if kind not in TRANSITION_TYPES:
        raise ApiError(400, 800002, "Invalid request input: transitionType.")
    quantity = body.get("quantity") or sub["quantity"]
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise ApiError(400, 800002, "Invalid request input: quantity.")
    if not 1 <= quantity <= int(sub["quantity"]):
        raise ApiError(
            400,
            2002,
            "Subscription quantity is not within minimum and maximum allowed quantity",
        )
    into = _into(state, cid, body, target)
    term = str(body.get("termduration") or sub.get("termDuration") or "P1Y").upper()
    cycle = snake_enum(str(body.get("billingcycle") or sub.get("billingCycle")))
    if into is None and (term, cycle) not in target.terms:
        raise ApiError(
            400,
            800002,
            f"Invalid request input: {target.title} is not sold for {term} billed "
            f"{cycle}.",
        )
    now = state.now()
    delay = max(0.0, float(state.settings["provisioning_delay_seconds"]))
    record: dict[str, Any] = {
        "operationId": str(uuid.uuid4()),
        "customerId": sub["customerId"],
        "fromCatalogItemId": sub["offerId"],
        "fromSubscriptionId": sub["id"],
        "toCatalogItemId": target.catalog_item_id,
        "toSubscriptionId": into["id"] if into else None,
        "intoSubscriptionId": into["id"] if into else None,
        "quantity": quantity,
        "termDuration": into["termDuration"] if into else term,
        "billingCycle": into["billingCycle"] if into else cycle,
        "transitionType": kind,
        "status": "InProgress",
        "creationTime": iso(now),
        "events": _first_events(state, kind, iso(now)),
        "shape": state.settings.get("transition_shape", "documented"),
        "eventStyle": state.settings.get("transition_events", "appended"),
        "completeAt": state.time() + delay,
        "msRequestId": request.header("ms-requestid"),
    }
    state.transitions.setdefault(cid.lower(), {})[record["operationId"]] = record
    state.due_at(record["completeAt"])
    # Documented: answered with its initial status, even when it completes at
    # once; the other shape answers with what it is by then.
    initial = transition_json(copy.deepcopy(record))
    if delay <= 0:
        provisioning.settle(state)
    documented = record["shape"] == "documented"
    return Response(200, initial if documented else transition_json(record))


def _into(
    state: SandboxState, cid: str, body: dict[str, Any], target: Sku
) -> dict[str, Any] | None:
    """Return the existing subscription named by ``toSubscriptionId``, if any."""
    into_id = body.get("tosubscriptionid")
    if not into_id:
        return None
    into = state.subscription(cid, str(into_id))
    if (
        into is None
        or not nce.is_nce(into)
        or into["offerId"] != target.catalog_item_id
        or into.get("status") != "active"
    ):
        raise ApiError(
            400,
            800002,
            f"Invalid request input: subscription {into_id} cannot receive this "
            "transition.",
        )
    return into


def list_transitions(
    state: SandboxState, request: Request, cid: str, sid: str
) -> Response:
    """GET …/subscriptions/{sid}/transitions[?operationId=]: ``{"transition": […]}``."""
    subscription_or_404(state, cid, sid)
    operation = (request.query.get("operationid") or "").lower()
    records = [
        t
        for t in state.transitions.get(cid.lower(), {}).values()
        if sid.lower()
        in (
            t["fromSubscriptionId"].lower(),
            str(t.get("toSubscriptionId") or "").lower(),
        )
        and (not operation or t["operationId"].lower() == operation)
    ]
    return Response(
        200,
        {
            "totalCount": len(records),
            "transition": [transition_json(t, listed=True) for t in records],
            "attributes": {"objectType": "Collection"},
        },
    )


_SUB = "/customers/{cid}/subscriptions/{sid}"
ROUTES: list[Route] = [
    (_SUB + "/transitionEligibilities", {"GET": eligibilities}),
    (_SUB + "/transitions", {"GET": list_transitions, "POST": create_transition}),
]
