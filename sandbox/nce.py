"""New-commerce subscriptions: how one is made and what may happen to it.

An NCE record is a plain dict like a legacy one plus the NCE fields of §3.2. Internal
keys (never rendered): ``customerId``, ``skuId`` (Entra), ``etag``, ``version``,
``refundBatches`` (seats bought and until when each batch may be refunded) and
``billing`` (status, billed-through date and a ledger of events; shown in the state
dump). Functions raise ``ApiError`` for the documented refusals.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sandbox import products
from sandbox.records import PARTNER_ID, bump_etag, iso
from sandbox.terms import CANCELLATION_WINDOW, RENEWAL_LAG, parse_iso, term_end
from sandbox.web import ApiError

NCE_TYPE = {"id": "OnlineServicesNCE", "displayName": "OnlineServicesNCE"}


def is_nce(record: dict[str, Any]) -> bool:
    """Return whether a subscription record is a new-commerce one."""
    product_type = record.get("productType")
    return isinstance(product_type, dict) and product_type.get("id") == NCE_TYPE["id"]


def create(
    *,
    sub_id: str,
    customer_id: str,
    sku: products.Sku,
    quantity: int,
    term: str,
    cycle: str,
    start: datetime,
    order_id: str,
    now: datetime,
    friendly_name: str | None = None,
    auto_renew: bool = True,
    partner_id: str = PARTNER_ID,
    status: str = "active",
    created: datetime | None = None,
    end: datetime | None = None,
) -> dict[str, Any]:
    """Return a new NCE subscription record whose term starts at ``start``."""
    window = start + CANCELLATION_WINDOW
    sub: dict[str, Any] = {
        "id": sub_id,
        "offerId": sku.catalog_item_id,
        "offerName": sku.title,
        "friendlyName": friendly_name or sku.title,
        "quantity": quantity,
        "unitType": "Licenses",
        "creationDate": iso(created or start),
        "effectiveStartDate": iso(start),
        "commitmentEndDate": iso(end or term_end(start, term)),
        "cancellationAllowedUntilDate": iso(window),
        "status": status,
        "autoRenewEnabled": auto_renew,
        "isTrial": False,
        "hasPurchasableAddons": False,
        "billingType": "license",
        "billingCycle": cycle,
        "termDuration": term,
        "renewalTermDuration": "",
        "productType": dict(NCE_TYPE),
        "contractType": "subscription",
        "partnerId": partner_id,
        "orderId": order_id,
        "suspensionReasons": [],
        "refundOptions": [],
        "refundableQuantity": {"totalQuantity": 0, "details": []},
        "attentionNeeded": False,
        "actionTaken": False,
        "publisherName": "Microsoft Corporation",
        "isMicrosoftProduct": True,
        "customerId": customer_id,
        "skuId": sku.entra_sku_id,
        "refundBatches": [{"quantity": quantity, "allowedUntil": iso(window)}],
        "billing": {
            "status": "billing" if status in ("active", "suspended") else "stopped",
            "billedThrough": iso(end or term_end(start, term)),
            "events": [{"at": iso(start), "event": "purchase", "quantity": quantity}],
        },
        "version": 0,
    }
    refresh(sub, now)
    bump_etag(sub)
    return sub


def refresh(sub: dict[str, Any], now: datetime) -> None:
    """Recompute ``refundableQuantity`` and ``refundOptions`` for the time ``now``."""
    open_batches = [
        b for b in sub.get("refundBatches", []) if parse_iso(b["allowedUntil"]) > now
    ]
    if sub.get("status") not in ("active", "suspended"):
        open_batches = []
    sub["refundableQuantity"] = {
        "totalQuantity": sum(b["quantity"] for b in open_batches),
        "details": [
            {"quantity": b["quantity"], "allowedUntilDateTime": b["allowedUntil"]}
            for b in open_batches
        ],
    }
    window = sub.get("cancellationAllowedUntilDate")
    inside = bool(window) and parse_iso(str(window)) > now and bool(open_batches)
    sub["refundOptions"] = (
        [{"type": "Full", "expiresAt": sub["cancellationAllowedUntilDate"]}]
        if inside
        else []
    )


def next_window_end(sub: dict[str, Any], now: datetime) -> datetime | None:
    """Return when the next refund window of a subscription closes, or None."""
    ends = [
        parse_iso(b["allowedUntil"])
        for b in sub.get("refundBatches", [])
        if parse_iso(b["allowedUntil"]) > now
    ]
    return min(ends) if ends else None


def bill(sub: dict[str, Any], event: str, now: datetime, **details: Any) -> None:
    """Append an event to a subscription's billing ledger."""
    sub["billing"]["events"].append({"at": iso(now), "event": event, **details})


def cancel(sub: dict[str, Any], now: datetime) -> None:
    """Cancel (status ``deleted``) inside the window with a refund, else raise 400."""
    window = parse_iso(str(sub["cancellationAllowedUntilDate"]))
    if now > window:
        raise ApiError(
            400,
            800096,
            "Cannot update the status for this subscription: new commerce "
            f"subscription {sub['id']} can only be cancelled until "
            f"{sub['cancellationAllowedUntilDate']} (7 days after its purchase or "
            "renewal).",
        )
    refunded = sub["refundableQuantity"]["totalQuantity"] or sub["quantity"]
    sub["status"] = "deleted"
    sub["autoRenewEnabled"] = False
    sub["suspensionReasons"] = []
    sub.pop("scheduledNextTermInstructions", None)
    sub["billing"]["status"] = "stopped"
    sub["billing"]["billedThrough"] = iso(now)
    bill(sub, "cancelled", now, refundedQuantity=refunded, refund="Full")
    sub["refundBatches"] = []
    refresh(sub, now)


def suspend(sub: dict[str, Any], now: datetime) -> None:
    """Suspend: users lose the service, billing continues to the term end."""
    sub["status"] = "suspended"
    sub["suspensionReasons"] = ["PartnerInitiated"]
    bill(
        sub,
        "suspended",
        now,
        note="billing continues until the term end; suspension does not end it",
    )


def reactivate(sub: dict[str, Any], now: datetime) -> None:
    """Reactivate a suspended subscription."""
    sub["status"] = "active"
    sub["suspensionReasons"] = []
    bill(sub, "reactivated", now)


def set_quantity(sub: dict[str, Any], quantity: int, now: datetime) -> None:
    """Change seats: more is a new refundable batch; fewer only within the refundable.

    Raise 400/800090 when the decrease exceeds the seats still refundable.
    """
    change = quantity - int(sub["quantity"])
    if change > 0:
        until = iso(now + CANCELLATION_WINDOW)
        sub["refundBatches"].append({"quantity": change, "allowedUntil": until})
        bill(sub, "seats_added", now, quantity=change)
    elif change < 0:
        refundable = int(sub["refundableQuantity"]["totalQuantity"])
        if -change > refundable:
            raise ApiError(
                400,
                800090,
                "Subscription quantity cannot be decreased: only seats added in the "
                f"last 7 days can be removed ({refundable} refundable).",
            )
        left = -change
        for batch in reversed(sub["refundBatches"]):
            taken = min(left, batch["quantity"])
            batch["quantity"] -= taken
            left -= taken
        sub["refundBatches"] = [b for b in sub["refundBatches"] if b["quantity"] > 0]
        bill(sub, "seats_removed", now, quantity=-change, refund="Prorated")
    sub["quantity"] = quantity
    refresh(sub, now)


def scheduled_instructions(sub: dict[str, Any], raw: Any) -> dict[str, Any] | None:
    """Return validated ``scheduledNextTermInstructions`` (None clears them).

    ``raw`` has lower-cased keys. Raise 400/800002 for an unknown target, a term the
    target does not sell, or auto-renew off.
    """
    if raw is None:
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("product"), dict):
        raise ApiError(
            400, 800002, "Invalid request input: scheduledNextTermInstructions.product."
        )
    product = raw["product"]
    target = products.find(
        str(product.get("productid", "")), str(product.get("skuid", ""))
    )
    current = products.by_catalog_item(str(sub["offerId"]))
    allowed = {current.key} | set(current.transitions) if current else set()
    if target is None or target.key not in allowed:
        raise ApiError(
            400,
            800002,
            "Invalid request input: the scheduled product is not a renewal option of "
            f"subscription {sub['id']}.",
        )
    availability = str(product.get("availabilityid") or target.availability_id)
    term = str(product.get("termduration") or sub["termDuration"]).upper()
    cycle = str(product.get("billingcycle") or sub["billingCycle"]).lower()
    if availability.lower() != target.availability_id.lower() or (
        (term, cycle) not in target.terms
    ):
        raise ApiError(
            400,
            800002,
            f"Invalid request input: {target.title} is not sold for {term} billed "
            f"{cycle}.",
        )
    quantity = raw.get("quantity") or sub["quantity"]
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise ApiError(400, 800002, "Invalid request input: quantity.")
    instructions: dict[str, Any] = {
        "product": {
            "productId": target.product_id,
            "skuId": target.sku_id,
            "availabilityId": target.availability_id,
            "billingCycle": cycle,
            "termDuration": term,
        },
        "quantity": quantity,
    }
    if raw.get("customtermenddate"):
        instructions["customTermEndDate"] = raw["customtermenddate"]
    return instructions


def renew(sub: dict[str, Any], now: datetime) -> tuple[str, str] | None:
    """Start the next term (applying scheduled changes) at the old term's end.

    Return (old Entra skuId, new Entra skuId) when the SKU changed, else None.
    """
    start = parse_iso(str(sub["commitmentEndDate"])) + RENEWAL_LAG
    change = sub.pop("scheduledNextTermInstructions", None)
    moved: tuple[str, str] | None = None
    if change:
        target = products.find(
            change["product"]["productId"], change["product"]["skuId"]
        )
        if target is not None:
            if target.entra_sku_id != sub["skuId"]:
                moved = (sub["skuId"], target.entra_sku_id)
            sub["offerId"] = target.catalog_item_id
            sub["offerName"] = target.title
            if sub.get("friendlyName") in (None, "", sub.get("offerName")):
                sub["friendlyName"] = target.title
            sub["skuId"] = target.entra_sku_id
        sub["termDuration"] = change["product"]["termDuration"]
        sub["billingCycle"] = change["product"]["billingCycle"]
        sub["quantity"] = int(change.get("quantity") or sub["quantity"])
    window = start + CANCELLATION_WINDOW
    sub["effectiveStartDate"] = iso(start)
    sub["commitmentEndDate"] = iso(term_end(start, sub["termDuration"]))
    sub["cancellationAllowedUntilDate"] = iso(window)
    sub["refundBatches"] = [{"quantity": sub["quantity"], "allowedUntil": iso(window)}]
    sub["billing"]["status"] = "billing"
    sub["billing"]["billedThrough"] = sub["commitmentEndDate"]
    bill(
        sub,
        "renewed",
        start,
        quantity=sub["quantity"],
        offerId=sub["offerId"],
        termDuration=sub["termDuration"],
    )
    refresh(sub, now)
    bump_etag(sub)
    return moved


def expire(sub: dict[str, Any], now: datetime) -> None:
    """End a subscription whose term ran out without renewal (status ``expired``)."""
    sub["status"] = "expired"
    sub["autoRenewEnabled"] = False
    sub.pop("scheduledNextTermInstructions", None)
    sub["billing"]["status"] = "stopped"
    bill(sub, "expired", now)
    refresh(sub, now)
    bump_etag(sub)
