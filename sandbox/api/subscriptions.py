"""Subscriptions: list, get, provisioning status and PATCH (§3, §4)."""

from __future__ import annotations

from sandbox import render, rules
from sandbox.api.common import (
    Route,
    customer_or_404,
    json_object,
    subscription_or_404,
)
from sandbox.state import PARTNER_ID, SandboxState, bump_etag
from sandbox.web import ApiError, Request, Response


def list_subscriptions(state: SandboxState, request: Request, cid: str) -> Response:
    """GET /customers/{cid}/subscriptions[?order_id=][&mpn_id=]."""
    customer_or_404(state, cid)
    subs = state.subscriptions_of(cid)
    order_id = request.query.get("order_id")
    if order_id:
        subs = [
            s for s in subs if str(s.get("orderId", "")).lower() == order_id.lower()
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
    """PATCH …/subscriptions/{sid}: status, autoRenewEnabled, quantity, name."""
    sub = subscription_or_404(state, cid, sid)
    if sub.get("partnerId") not in (PARTNER_ID, "", None):
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
