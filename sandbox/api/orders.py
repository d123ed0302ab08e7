"""Orders: list, get, provisioning status and POST (§5.1)."""

from __future__ import annotations

from typing import Any

from sandbox import provisioning, render, rules
from sandbox.api.common import Route, customer_or_404, json_object
from sandbox.state import SandboxState
from sandbox.web import ApiError, Request, Response, snake_enum

_LINE_NUMBER_ERROR = "Line Item number should be from 0 to number of line items count"
_CYCLES_BY_INT = {1: "monthly", 2: "annual", 3: "none", 4: "one_time"}


def list_orders(state: SandboxState, request: Request, cid: str) -> Response:
    """GET /customers/{cid}/orders."""
    customer_or_404(state, cid)
    now = state.time()
    # A new order is listed only after the listing delay (fidelity switch).
    orders = [
        o
        for o in state.orders.get(cid.lower(), {}).values()
        if o.get("listedAt") is None or o["listedAt"] <= now
    ]
    return Response(
        200,
        render.collection(
            [render.order(o) for o in orders], self_uri=f"/customers/{cid}/orders"
        ),
    )


def order_id_matches(state: SandboxState, stored: str, asked: str) -> bool:
    """Return whether ``asked`` names the order ``stored`` (``order_id_lookup``)."""
    if state.settings["order_id_lookup"] == "case_insensitive":
        return stored.lower() == asked.lower()
    return stored == asked


def order_or_404(state: SandboxState, cid: str, oid: str) -> dict[str, Any]:
    """Return an order record (after provisioning) or raise 404/20000."""
    customer_or_404(state, cid)
    record = state.orders.get(cid.lower(), {}).get(oid.lower())
    if record is None or not order_id_matches(state, record["id"], oid):
        raise ApiError(404, 20000, f"Order Id not found: {oid}")
    return record


def get_order(state: SandboxState, request: Request, cid: str, oid: str) -> Response:
    """GET /customers/{cid}/orders/{oid} (subscriptionId once provisioned)."""
    return Response(200, render.order(order_or_404(state, cid, oid)))


def order_provisioning(
    state: SandboxState, request: Request, cid: str, oid: str
) -> Response:
    """GET …/orders/{oid}/provisioningstatus."""
    rows = render.order_provisioning(order_or_404(state, cid, oid))
    return Response(200, render.collection(rows))


def _line_numbers(raw_items: list[Any]) -> None:
    """Raise 400/800071 unless line item numbers are exactly 0 to n-1."""
    numbers = []
    for item in raw_items:
        if not isinstance(item, dict):
            raise ApiError(400, 800002, "Invalid request input: line item.")
        number = item.get("lineitemnumber")
        if isinstance(number, bool) or not isinstance(number, int):
            raise ApiError(400, 800071, _LINE_NUMBER_ERROR)
        numbers.append(number)
    if sorted(numbers) != list(range(len(raw_items))):
        raise ApiError(400, 800071, _LINE_NUMBER_ERROR)


def create_order(state: SandboxState, request: Request, cid: str) -> Response:
    """POST /customers/{cid}/orders: validate, store pending, provision later."""
    customer = customer_or_404(state, cid)
    body = json_object(request, "an Order")
    raw_items = body.get("lineitems")
    if not isinstance(raw_items, list) or not raw_items:
        raise ApiError(400, 800002, "Invalid request input: lineItems is required.")
    _line_numbers(raw_items)
    cycle = body.get("billingcycle") or "monthly"
    if isinstance(cycle, int):
        cycle = _CYCLES_BY_INT.get(cycle, "monthly")
    cycle = snake_enum(str(cycle))
    items = [rules.order_line(item, cycle) for item in raw_items]
    rules.agreement_accepted(customer)
    record = provisioning.place_order(
        state, customer, items, cycle, request_id=request.header("ms-requestid")
    )
    return Response(
        201,
        render.order(record),
        [("Location", f"/customers/{customer['id']}/orders/{record['id']}")],
    )


ROUTES: list[Route] = [
    ("/customers/{cid}/orders", {"GET": list_orders, "POST": create_order}),
    ("/customers/{cid}/orders/{oid}", {"GET": get_order}),
    ("/customers/{cid}/orders/{oid}/provisioningstatus", {"GET": order_provisioning}),
]
