"""Subscriptions: list, get, provisioning status and PATCH (§3, §4)."""

from __future__ import annotations

from typing import Any

from sandbox import nce, products, render, rules
from sandbox.api.common import (
    Route,
    customer_or_404,
    json_object,
    subscription_or_404,
)
from sandbox.api.orders import order_id_matches
from sandbox.records import PARTNER_ID, owned
from sandbox.state import SandboxState, bump_etag
from sandbox.web import ApiError, Request, Response


def list_subscriptions(state: SandboxState, request: Request, cid: str) -> Response:
    """GET /customers/{cid}/subscriptions[?order_id=][&mpn_id=]."""
    customer_or_404(state, cid)
    subs = state.subscriptions_of(cid)
    order_id = request.query.get("order_id")
    if order_id:
        subs = [
            s for s in subs if order_id_matches(state, str(s.get("orderId")), order_id)
        ]
    mpn_id = request.query.get("mpn_id")
    if mpn_id:
        subs = [s for s in subs if s.get("partnerId") == mpn_id]
    uri = f"/customers/{cid}/subscriptions"
    if request.raw_query:
        uri += f"?{request.raw_query}"
    return Response(
        200, render.collection([render.subscription(s) for s in subs], self_uri=uri)
    )


def get_subscription(
    state: SandboxState, request: Request, cid: str, sid: str
) -> Response:
    """GET /customers/{cid}/subscriptions/{sid}."""
    return Response(200, render.subscription(subscription_or_404(state, cid, sid)))


def subscription_provisioning(
    state: SandboxState, request: Request, cid: str, sid: str
) -> Response:
    """GET …/subscriptions/{sid}/provisioningstatus (the skuId link)."""
    sub = subscription_or_404(state, cid, sid)
    return Response(200, render.provisioning_status(sub))


def patch_subscription(
    state: SandboxState, request: Request, cid: str, sid: str
) -> Response:
    """PATCH …/subscriptions/{sid}: status, autoRenewEnabled, quantity, name, and
    for new commerce cancellation and ``scheduledNextTermInstructions``."""
    sub = subscription_or_404(state, cid, sid)
    if not owned(sub):
        raise ApiError(
            403,
            20002,
            f"The partner id {PARTNER_ID} has no commerce relationship with the "
            f"customer id {cid}.",
        )
    if_match = request.header("if-match")
    if if_match is not None and rules.bare_etag(if_match) != sub["etag"]:
        raise ApiError(400, 2055, "Etag is no longer valid")
    body = json_object(request, "an object")
    changes = rules.subscription_changes(sub, body)
    current = str(sub.get("status"))
    if nce.is_nce(sub):
        _patch_new_commerce(state, sub, body, changes, current)
        return Response(200, render.subscription(sub))
    if changes:
        rules.check_subscription_update(state, sub, current, changes)
    for key, value in changes.items():
        sub[key] = value
    if "status" in changes:
        sub["suspensionReasons"] = (
            ["CustomerCancellation"] if changes["status"] == "suspended" else []
        )
    bump_etag(sub)
    return Response(200, render.subscription(sub))


def _patch_new_commerce(
    state: SandboxState,
    sub: dict[str, Any],
    body: dict[str, Any],
    changes: dict[str, Any],
    current: str,
) -> None:
    """Apply a PATCH to a new-commerce subscription (all checks before any write)."""
    now = state.now()
    existing = sub.get("scheduledNextTermInstructions")
    scheduled: Any = existing
    if "schedulednextterminstructions" in body:
        scheduled = nce.scheduled_instructions(
            sub, body["schedulednextterminstructions"]
        )
        if scheduled != existing:
            changes["scheduledNextTermInstructions"] = scheduled
    if changes:
        rules.check_subscription_update(state, sub, current, changes)
    status = changes.get("status")
    sku = products.by_catalog_item(str(sub["offerId"]))
    quantity = changes.get("quantity")
    if quantity is not None and sku is not None and quantity > sku.maximum_quantity:
        raise ApiError(
            400,
            2002,
            "Subscription quantity is not within minimum and maximum allowed "
            f"quantity (1..{sku.maximum_quantity})",
        )
    auto_renew = changes.get("autoRenewEnabled", sub.get("autoRenewEnabled"))
    if scheduled and not auto_renew and status != "deleted":
        raise ApiError(
            400,
            800002,
            "Invalid request input: scheduledNextTermInstructions need "
            "autoRenewEnabled true.",
        )
    if status == "deleted":
        nce.cancel(sub, now)
    elif status == "suspended":
        nce.suspend(sub, now)
    elif status == "active":
        nce.reactivate(sub, now)
    if quantity is not None and status != "deleted":
        nce.set_quantity(sub, quantity, now)
        if "scheduledNextTermInstructions" not in changes:
            scheduled = None  # any mid-term change deletes a scheduled one
    if "autoRenewEnabled" in changes and status != "deleted":
        sub["autoRenewEnabled"] = changes["autoRenewEnabled"]
        if not changes["autoRenewEnabled"]:
            scheduled = None
    if "friendlyName" in changes:
        sub["friendlyName"] = changes["friendlyName"]
    if scheduled and sub["status"] != "deleted":
        sub["scheduledNextTermInstructions"] = scheduled
    else:
        sub.pop("scheduledNextTermInstructions", None)
    nce.refresh(sub, now)
    state.next_due = None
    bump_etag(sub)


ROUTES: list[Route] = [
    ("/customers/{cid}/subscriptions", {"GET": list_subscriptions}),
    (
        "/customers/{cid}/subscriptions/{sid}",
        {"GET": get_subscription, "PATCH": patch_subscription},
    ),
    (
        "/customers/{cid}/subscriptions/{sid}/provisioningstatus",
        {"GET": subscription_provisioning},
    ),
]
