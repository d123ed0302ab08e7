"""Carts and checkout: how new-commerce seats are bought (§5.2).

Line items are validated when a cart is created or replaced; a line that cannot be
bought carries ``error: {errorCode, errorDescription}`` (CartErrorCode). Lines are
grouped by billing cycle into order groups; checkout places one order per group and
answers ``orderErrors`` for the groups that cannot be ordered.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sandbox import products, provisioning, render, rules
from sandbox.api.common import Route, customer_or_404, json_object
from sandbox.records import iso
from sandbox.state import SandboxState
from sandbox.terms import BILLING_CYCLES, parse_iso, term_end
from sandbox.web import ApiError, Request, Response, snake_enum

CART_LIFETIME = timedelta(days=7)
_INTERNAL = frozenset({"customerId", "orderIds", "checkoutResult", "processingUntil"})


def cart_json(
    cart: dict[str, Any], state: SandboxState | None = None
) -> dict[str, Any]:
    """Return the ``Cart`` resource (``orderIds`` with ``cart_order_ids=shown``)."""
    body = {k: v for k, v in cart.items() if k not in _INTERNAL}
    if (
        state is not None
        and state.settings["cart_order_ids"] == "shown"
        and cart.get("orderIds")
    ):
        body["orderIds"] = list(cart["orderIds"])
    body["links"] = {
        "self": render.link(f"/customers/{cart['customerId']}/carts/{cart['id']}")
    }
    body["attributes"] = {"objectType": "Cart"}
    return body


def _error(code: int, description: str) -> dict[str, Any]:
    """Return a ``CartError``."""
    return {"errorCode": code, "errorDescription": description}


def _line(
    state: SandboxState, cid: str, index: int, raw: Any, cart_products: set[str]
) -> dict[str, Any]:
    """Return a stored cart line item, with ``error`` when it cannot be bought."""
    if not isinstance(raw, dict):
        raise ApiError(400, 800002, "Invalid request input: line item.")
    item_id = raw.get("catalogitemid")
    line: dict[str, Any] = {
        "id": raw["id"] if isinstance(raw.get("id"), int) else index,
        "catalogItemId": item_id,
        "quantity": raw.get("quantity"),
        "currencyCode": "USD",
        "billingCycle": snake_enum(str(raw.get("billingcycle") or "monthly")),
        "termDuration": str(raw.get("termduration") or "").upper() or None,
    }
    for key, name in (
        ("friendlyname", "friendlyName"),
        ("customtermenddate", "customTermEndDate"),
        ("promotionid", "promotionId"),
        ("provisioningcontext", "provisioningContext"),
    ):
        if raw.get(key) not in (None, ""):
            line[name] = raw[key]
    participants = raw.get("participants") or []
    if isinstance(participants, list) and participants:
        line["participants"] = [
            {"key": p.get("key"), "value": p.get("value")}
            for p in participants
            if isinstance(p, dict)
        ]
    error = _line_error(state, cid, line, cart_products)
    if error is not None:
        line["error"] = error
    return line


def _line_error(
    state: SandboxState, cid: str, line: dict[str, Any], cart_products: set[str]
) -> dict[str, Any] | None:
    """Return the CartError of a line, or None when it can be bought."""
    sku = products.by_catalog_item(str(line["catalogItemId"] or ""))
    if sku is None:
        return _error(10001, f"Catalog item ID {line['catalogItemId']} isn't valid.")
    if sku.end_of_sale:
        return _error(
            10001,
            f"Catalog item ID {sku.catalog_item_id} isn't valid: {sku.title} is end "
            "of sale and can no longer be bought.",
        )
    quantity = line["quantity"]
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        return _error(10010, "Generic input isn't valid: quantity.")
    if quantity > sku.maximum_quantity:
        return _error(
            10015,
            f"Requested number of seats exceeds the limit ({sku.maximum_quantity}).",
        )
    if line["termDuration"] is None:
        line["termDuration"] = next(
            (t for t, c in sku.terms if c == line["billingCycle"]), sku.terms[0][0]
        )
    if (line["termDuration"], line["billingCycle"]) not in sku.terms:
        return _error(
            10010,
            f"Generic input isn't valid: {sku.title} is not sold for "
            f"{line['termDuration']} billed {line['billingCycle']}.",
        )
    custom = line.get("customTermEndDate")
    if custom is not None:
        try:
            end = parse_iso(str(custom))
        except ValueError:
            return _error(10010, "Generic input isn't valid: customTermEndDate.")
        now = state.now()
        if not now < end <= term_end(now, line["termDuration"]) + timedelta(days=1):
            return _error(
                10010,
                "Generic input isn't valid: customTermEndDate must fall within the "
                "first term.",
            )
    if sku.prerequisites and not _has_base(state, cid, sku, cart_products):
        return _error(
            10006,
            f"Unable to process cart line item: {sku.title} needs a qualifying base "
            "subscription (bought before or in the same cart).",
        )
    return None


def _has_base(
    state: SandboxState, cid: str, sku: products.Sku, cart_products: set[str]
) -> bool:
    """Return whether the customer holds or buys a prerequisite of an attach SKU."""
    wanted = {p.lower() for p in sku.prerequisites}
    if wanted & cart_products:
        return True
    return any(
        s.get("status") == "active"
        and str(s["offerId"]).split(":")[0].lower() in wanted
        for s in state.subscriptions_of(cid)
    )


def _lines(state: SandboxState, cid: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    """Return validated, order-grouped line items of a cart body."""
    raw_lines = body.get("lineitems")
    if not isinstance(raw_lines, list) or not raw_lines:
        raise ApiError(400, 800002, "Invalid request input: lineItems is required.")
    cart_products = {
        str(r.get("catalogitemid") or "").split(":")[0].lower()
        for r in raw_lines
        if isinstance(r, dict)
    }
    lines = [_line(state, cid, i, r, cart_products) for i, r in enumerate(raw_lines)]
    groups: dict[str, str] = {}
    for line in lines:
        cycle = line["billingCycle"] if line["billingCycle"] in BILLING_CYCLES else ""
        line["orderGroup"] = groups.setdefault(cycle, str(len(groups)))
    return lines


def create_cart(state: SandboxState, request: Request, cid: str) -> Response:
    """POST /customers/{cid}/carts → 201 Cart (lines may carry errors)."""
    customer = customer_or_404(state, cid)
    lines = _lines(state, cid, json_object(request, "a Cart"))
    now = state.now()
    cart: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "customerId": customer["id"],
        "creationTimestamp": iso(now),
        "lastModifiedTimestamp": iso(now),
        "expirationTimestamp": iso(now + CART_LIFETIME),
        "lastModifiedUser": "sandbox-app",
        "lineItems": lines,
        "status": "Active",
    }
    state.carts.setdefault(cid.lower(), {})[cart["id"]] = cart
    location = f"/customers/{customer['id']}/carts/{cart['id']}"
    return Response(201, cart_json(cart), [("Location", location)])


def _cart_or_404(state: SandboxState, cid: str, cart_id: str) -> dict[str, Any]:
    """Return a cart record or raise 404."""
    customer_or_404(state, cid)
    cart = state.carts.get(cid.lower(), {}).get(cart_id.lower())
    if cart is None:
        raise ApiError(404, 1000, f"Cart {cart_id} was not found.")
    return cart


def get_cart(state: SandboxState, request: Request, cid: str, cart_id: str) -> Response:
    """GET /customers/{cid}/carts/{cartId}."""
    return Response(200, cart_json(_cart_or_404(state, cid, cart_id), state))


def update_cart(
    state: SandboxState, request: Request, cid: str, cart_id: str
) -> Response:
    """PUT /customers/{cid}/carts/{cartId} with the full Cart."""
    cart = _cart_or_404(state, cid, cart_id)
    if cart["status"] != "Active":
        raise ApiError(400, 800065, "Cannot update an already submitted cart")
    cart["lineItems"] = _lines(state, cid, json_object(request, "a Cart"))
    cart["lastModifiedTimestamp"] = iso(state.now())
    return Response(200, cart_json(cart))


def checkout(state: SandboxState, request: Request, cid: str, cart_id: str) -> Response:
    """POST …/carts/{cartId}/checkout → 201 CartCheckoutResult."""
    cart = _cart_or_404(state, cid, cart_id)
    customer = customer_or_404(state, cid)
    if cart["status"] != "Active":
        return _repeat_checkout(state, cart)
    agreement_error: ApiError | None = None
    try:
        rules.agreement_accepted(customer)
    except ApiError as exc:
        if state.settings["checkout_agreement_error"] == "request":
            raise
        agreement_error = exc
    groups: dict[str, list[dict[str, Any]]] = {}
    for line in cart["lineItems"]:
        groups.setdefault(line["orderGroup"], []).append(line)
    orders: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    for group, lines in groups.items():
        failed = next((line["error"] for line in lines if line.get("error")), None)
        if agreement_error is not None:
            errors.append(
                {
                    "orderGroupId": group,
                    "code": agreement_error.code,
                    "description": agreement_error.description,
                }
            )
        elif failed is not None:
            errors.append(
                {
                    "orderGroupId": group,
                    "code": failed["errorCode"],
                    "description": failed["errorDescription"],
                }
            )
        else:
            orders.append(_order(state, customer, cart, lines, request))
    body = {
        "orders": [render.order(o) for o in orders],
        "orderErrors": errors,
        "attributes": {"objectType": "CartCheckoutResult"},
    }
    if orders:
        cart["status"] = "Ordered"
        cart["orderIds"] = [o["id"] for o in orders]
        cart["lastModifiedTimestamp"] = iso(state.now())
        cart["checkoutResult"] = body
        cart["processingUntil"] = state.time() + float(
            state.settings["checkout_processing_seconds"]
        )
    return Response(201, body)


def _repeat_checkout(state: SandboxState, cart: dict[str, Any]) -> Response:
    """Answer a checkout of a cart already checked out.

    While the first checkout is processed: 409/800064. Afterwards 400/800065
    (``checkout_repeat=error``) or the first result again (``replay``).
    Reference: https://learn.microsoft.com/en-us/partner-center/developer/error-codes
    Reference: https://learn.microsoft.com/en-us/partner-center/developer/checkout-a-cart
    """
    if state.time() < float(cart.get("processingUntil") or 0):
        raise ApiError(
            409, 800064, f"Cart {cart['id']} is being processed by another request"
        )
    if state.settings["checkout_repeat"] == "replay" and cart.get("checkoutResult"):
        return Response(201, cart["checkoutResult"])
    raise ApiError(400, 800065, "Cannot check out an already submitted cart")


def _order(
    state: SandboxState,
    customer: dict[str, Any],
    cart: dict[str, Any],
    lines: list[dict[str, Any]],
    request: Request,
) -> dict[str, Any]:
    """Place the order of one order group."""
    items = []
    for number, line in enumerate(lines):
        sku = products.by_catalog_item(line["catalogItemId"])
        item: dict[str, Any] = {
            "lineItemNumber": number,
            "offerId": line["catalogItemId"],
            "friendlyName": line.get("friendlyName") or (sku.title if sku else None),
            "quantity": line["quantity"],
            "termDuration": line["termDuration"],
            "billingCycle": line["billingCycle"],
        }
        if line.get("customTermEndDate"):
            item["customTermEndDate"] = str(line["customTermEndDate"])
        reseller = next(
            (
                p["value"]
                for p in line.get("participants", [])
                if str(p.get("key")).lower() == "transaction_reseller"
                and p.get("value")
            ),
            None,
        )
        if reseller:
            item["partnerIdOnRecord"] = str(reseller)
        items.append(item)
    return provisioning.place_order(
        state,
        customer,
        items,
        lines[0]["billingCycle"],
        request_id=request.header("ms-requestid"),
        cart_id=cart["id"],
    )


ROUTES: list[Route] = [
    ("/customers/{cid}/carts", {"POST": create_cart}),
    ("/customers/{cid}/carts/{cart_id}", {"GET": get_cart, "PUT": update_cart}),
    ("/customers/{cid}/carts/{cart_id}/checkout", {"POST": checkout}),
]
