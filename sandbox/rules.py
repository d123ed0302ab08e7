"""Validation rules of the sandbox writes: subscription PATCH, order lines and
licence updates. Each function raises the documented ``ApiError``."""

from __future__ import annotations

from typing import Any

from sandbox import catalog, products
from sandbox.state import SandboxState
from sandbox.web import ApiError, Request, snake_enum

_STATUS_BY_INT = {0: "none", 1: "active", 2: "suspended", 3: "deleted"}


def bare_etag(value: str) -> str:
    """Return an If-Match value without W/ prefix and quotes."""
    text = value.strip()
    if text.startswith("W/"):
        text = text[2:]
    return text.strip('"')


def country(request: Request) -> str:
    """Return the required ``country`` query parameter (upper-case) or raise 400."""
    country = request.query.get("country")
    if not country:
        raise ApiError(400, 800002, "Invalid request input: country is required.")
    return country.upper()


def parse_status(value: Any) -> str:
    """Return a subscription status from a string or SDK integer enum."""
    if isinstance(value, bool):
        raise ApiError(400, 800002, "Invalid request input: status.")
    if isinstance(value, int):
        if value not in _STATUS_BY_INT:
            raise ApiError(
                400, 800096, "Cannot update the status for this subscription"
            )
        return _STATUS_BY_INT[value]
    if not isinstance(value, str):
        raise ApiError(400, 800002, "Invalid request input: status.")
    return value.strip().lower()


def subscription_changes(sub: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """Return the fields a PATCH body really changes (full or sparse body).

    Unchanged and read-only fields are ignored; ``quantity: 0`` (an SDK default in a
    sparse body) counts as absent.
    """
    changes: dict[str, Any] = {}
    if body.get("status") is not None:
        status = parse_status(body["status"])
        if status != sub.get("status"):
            changes["status"] = status
    quantity = body.get("quantity")
    if quantity is not None:
        if isinstance(quantity, bool) or not isinstance(quantity, int):
            raise ApiError(400, 800002, "Invalid request input: quantity.")
        if quantity != 0 and quantity != sub.get("quantity"):
            changes["quantity"] = quantity
    auto = body.get("autorenewenabled")
    if auto is not None:
        if not isinstance(auto, bool):
            raise ApiError(400, 800002, "Invalid request input: autoRenewEnabled.")
        if auto != sub.get("autoRenewEnabled"):
            changes["autoRenewEnabled"] = auto
    name = body.get("friendlyname")
    if isinstance(name, str) and name != sub.get("friendlyName"):
        changes["friendlyName"] = name
    cycle = body.get("billingcycle")
    if (
        isinstance(cycle, str)
        and cycle
        and snake_enum(cycle) != sub.get("billingCycle")
    ):
        raise ApiError(
            400,
            2054,
            "The billing cycle for an existing subscription cannot be updated using "
            "update-subscription operation. Please use update-Order operation",
        )
    return changes


def check_subscription_update(
    state: SandboxState, sub: dict[str, Any], current: str, changes: dict[str, Any]
) -> None:
    """Raise the documented ApiError when ``changes`` may not be applied."""
    sid = sub["id"]
    new_status = changes.get("status")
    if current == "deleted":
        raise ApiError(
            400,
            2011,
            f"Subscription with id {sid} and deleted status cannot be updated.",
        )
    if current not in ("active", "suspended"):
        target = new_status or current
        raise ApiError(
            400,
            800040,
            f"Asset status cannot be changed to {target} from {current}: subscription "
            f"with id {sid} and {current} status cannot be updated.",
        )
    if new_status is not None and new_status not in ("active", "suspended", "deleted"):
        raise ApiError(
            400,
            800096,
            f"Cannot update the status for this subscription (to {new_status}).",
        )
    effective = new_status or current
    if effective == "suspended" and "quantity" in changes:
        raise ApiError(
            400,
            2001,
            "Subscription quantity cannot be increased or decreased while "
            "subscription is being suspended",
        )
    if (
        current == "suspended"
        and new_status is None
        and set(changes) - {"friendlyName"}
    ):
        raise ApiError(
            400, 800091, "Cannot update a subscription with suspended status"
        )
    if new_status == "active" and sub.get("parentSubscriptionId"):
        parent = state.subscription(sub["customerId"], sub["parentSubscriptionId"])
        if parent is not None and parent.get("status") != "active":
            raise ApiError(
                409,
                27009,
                "Cannot enable a child subscription, when the parent subscription is "
                "not Active",
            )
    quantity = changes.get("quantity")
    if quantity is not None:
        offer = catalog.offer_by_id(sub["offerId"])
        low = offer["minimumQuantity"] if offer else catalog.MINIMUM_QUANTITY
        high = offer["maximumQuantity"] if offer else catalog.MAXIMUM_QUANTITY
        if not low <= quantity <= high:
            raise ApiError(
                400,
                2002,
                "Subscription quantity is not within minimum and maximum allowed "
                f"quantity ({low}..{high})",
            )
    if changes.get("autoRenewEnabled") is True:
        offer = catalog.offer_by_id(sub["offerId"])
        if offer is not None and not offer["isAutoRenewable"]:
            raise ApiError(
                400, 800093, "The subscription is not eligible to be auto-renewed"
            )


def order_line(item: dict[str, Any], cycle: str = "monthly") -> dict[str, Any]:
    """Return a validated order line item or raise the documented ApiError.

    ``offerId`` is a legacy offer id or a modern ``productId:skuId:availabilityId``.
    """
    offer_id = item.get("offerid")
    if not isinstance(offer_id, str) or not offer_id.strip():
        raise ApiError(400, 800004, "Invalid offer Id")
    if ":" in offer_id:
        return _modern_order_line(item, offer_id, cycle)
    offer = catalog.offer_by_id(offer_id)
    if offer is None:
        raise ApiError(400, 800004, f"Invalid offer Id: {offer_id}")
    if not offer["isAvailableForPurchase"]:
        raise ApiError(403, 2091, "The offer is no longer available for purchase")
    quantity = _quantity(item, offer["maximumQuantity"])
    name = item.get("friendlyname")
    line = {
        "lineItemNumber": item["lineitemnumber"],
        "offerId": offer["id"],
        "friendlyName": name if isinstance(name, str) and name else offer["name"],
        "quantity": quantity,
    }
    return _on_record(item, line)


def _quantity(item: dict[str, Any], maximum: int) -> int:
    """Return a line's quantity or raise 400/2002 or 403/800067."""
    quantity = item.get("quantity")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise ApiError(
            400,
            2002,
            "Subscription quantity is not within minimum and maximum allowed quantity",
        )
    if quantity > maximum:
        raise ApiError(
            403,
            800067,
            "The desired seat count exceeded the maximum seat count allowed per "
            "subscription",
        )
    return quantity


def _on_record(item: dict[str, Any], line: dict[str, Any]) -> dict[str, Any]:
    """Copy an indirect reseller's ``partnerIdOnRecord`` onto a line."""
    reseller = item.get("partneridonrecord")
    if isinstance(reseller, str) and reseller.strip():
        line["partnerIdOnRecord"] = reseller.strip()
    return line


def _modern_order_line(
    item: dict[str, Any], offer_id: str, cycle: str
) -> dict[str, Any]:
    """Return a validated order line for a modern catalog item (§5.1)."""
    sku = products.by_catalog_item(offer_id)
    if sku is None:
        raise ApiError(400, 800004, f"Invalid offer Id: {offer_id}")
    if sku.end_of_sale:
        raise ApiError(403, 2091, "The offer is no longer available for purchase")
    quantity = _quantity(item, sku.maximum_quantity)
    term = str(item.get("termduration") or "").upper()
    if not term:
        term = next((t for t, c in sku.terms if c == cycle), sku.terms[0][0])
    if (term, cycle) not in sku.terms:
        raise ApiError(
            400,
            800002,
            f"Invalid request input: {sku.title} is not sold for {term} billed {cycle}.",
        )
    name = item.get("friendlyname")
    line: dict[str, Any] = {
        "lineItemNumber": item["lineitemnumber"],
        "offerId": sku.catalog_item_id,
        "friendlyName": name if isinstance(name, str) and name else sku.title,
        "quantity": quantity,
        "termDuration": term,
    }
    if item.get("customtermenddate"):
        line["customTermEndDate"] = str(item["customtermenddate"])
    return _on_record(item, line)


def agreement_accepted(customer: dict[str, Any]) -> None:
    """Raise 403/13605 unless the customer accepted the Microsoft Customer Agreement."""
    if customer.get("mcaAccepted", True):
        return
    raise ApiError(
        403,
        13605,
        "The customer has not accepted the Microsoft Customer Agreement. Confirm the "
        "customer's acceptance of the agreement, then try again.",
    )


def license_list(value: Any, name: str) -> list[str]:
    """Return skuIds from licensesToAssign (objects) or licensesToRemove (strings)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise ApiError(400, 800002, f"Invalid request input: {name} must be a list.")
    skus: list[str] = []
    for entry in value:
        sku = entry.get("skuid") if isinstance(entry, dict) else entry
        if not isinstance(sku, str) or not sku.strip():
            raise ApiError(400, 800002, f"Invalid request input: {name} skuId.")
        skus.append(sku.strip())
    return skus
