"""Lookups and paging shared by the ``/v1`` handlers.

Every handler is called with the state lock held and raises ``ApiError`` for the
documented error answers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sandbox import render
from sandbox.state import SandboxState
from sandbox.web import ApiError, Request, decode_token, encode_token

#: A ``/v1`` handler: ``handler(state, request, **path_ids) -> Response``.
Handler = Callable[..., Any]
#: One route: a path template (``{name}`` = one segment) and its handlers by method.
Route = tuple[str, dict[str, Handler]]

CUSTOMER_PAGE_CAP = 500
USER_PAGE_CAP = 100


def customer_or_404(state: SandboxState, cid: str) -> dict[str, Any]:
    """Return a listed customer record or raise 404/60003.

    Raise 403/20002 for a customer whose ``relationshipRemoved`` is set (the
    reseller relationship ended): every customer-scoped call is refused.
    """
    record = state.customer(cid)
    if record is None:
        raise ApiError(404, 60003, f"Tenant not found: {cid}")
    if record.get("relationshipRemoved"):
        # Reference: https://learn.microsoft.com/en-us/partner-center/developer/error-codes
        raise ApiError(403, 20002, "No relationship between caller and account")
    return record


def subscription_or_404(state: SandboxState, cid: str, sid: str) -> dict[str, Any]:
    """Return a subscription record of a listed customer or raise 404/20003."""
    customer_or_404(state, cid)
    record = state.subscription(cid, sid)
    if record is None:
        raise ApiError(404, 20003, f"Subscription with id {sid} not found.")
    return record


def user_or_404(state: SandboxState, cid: str, uid: str) -> dict[str, Any]:
    """Return a user record of a listed customer or raise 404/60002."""
    customer_or_404(state, cid)
    record = state.user(cid, uid)
    if record is None:
        raise ApiError(404, 60002, f"User object Id is not found: {uid}")
    return record


def json_object(request: Request, what: str) -> dict[str, Any]:
    """Return the request body as a (lower-cased keys) object or raise 400/800002."""
    body = request.json()
    if not isinstance(body, dict):
        raise ApiError(400, 800002, f"Invalid request input: expected {what}.")
    return body


def int_param(request: Request, name: str, default: int) -> int:
    """Return a non-negative integer query parameter or raise 400/800002."""
    raw = request.query.get(name.lower())
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ApiError(
            400, 800002, f"Invalid request input: {name} must be an integer."
        ) from exc
    if value < 0:
        raise ApiError(400, 800002, f"Invalid request input: {name} must be >= 0.")
    return value


def seek_page(
    state: SandboxState,
    request: Request,
    keys: list[str],
    *,
    scope: str,
    cap: int,
    base_uri: str,
    render_one: Callable[[str], dict[str, Any]],
    extra_query: str = "",
) -> dict[str, Any]:
    """Return one seek-paged Collection (customers, users) per §1.5 / §2.1."""
    size = int_param(request, "size", cap) or cap
    size = min(size, cap)
    seek = (request.query.get("seekoperation") or "").lower()
    if seek == "next":
        token = request.header("ms-continuationtoken")
        if token is None:
            raise ApiError(
                400,
                800002,
                "Invalid request input: seekOperation=Next requires the "
                "MS-ContinuationToken header.",
            )
        offset = decode_token(token, scope)
    elif seek in ("", "first"):
        offset = 0
    else:
        raise ApiError(400, 800002, f"Invalid request input: seekOperation {seek!r}.")
    style = state.settings["page_end_style"]
    if seek == "next" and offset >= len(keys) and style == "error2000":
        raise ApiError(400, 2000, "No more records: all items were returned.")
    page = keys[offset : offset + size]
    next_offset = offset + len(page)
    query = f"size={size}{extra_query}"
    body = render.collection(
        [render_one(k) for k in page], self_uri=f"{base_uri}?{query}"
    )
    if next_offset < len(keys) or style == "error2000":
        token = encode_token(scope, next_offset)
        body["continuationToken"] = token
        body["links"]["next"] = render.link(
            f"{base_uri}?{query}&seekOperation=Next",
            [{"key": "MS-ContinuationToken", "value": token}],
        )
    # Keep the documented key order: continuationToken before links.
    ordered = {"totalCount": body["totalCount"], "items": body["items"]}
    if "continuationToken" in body:
        ordered["continuationToken"] = body["continuationToken"]
    ordered["links"] = body["links"]
    ordered["attributes"] = body["attributes"]
    return ordered
