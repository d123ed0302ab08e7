"""What happens over time: orders are provisioned after a delay, transitions
complete, terms renew or expire when the clock passes their end, refund windows
close. ``settle`` brings a state up to its clock; the pipeline calls it (state lock
held) before every ``/v1`` call, and the control endpoints before dumps and after
clock moves.
"""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sandbox import catalog, nce, products
from sandbox.records import PARTNER_ID, bump_etag, iso
from sandbox.state import SandboxState
from sandbox.terms import parse_iso, renewal_due, term_end


def settle(state: SandboxState) -> dict[str, list[str]]:
    """Apply everything due by the clock; return the ids of the orders provisioned,
    subscriptions renewed or expired and transitions completed."""
    now_ts = state.time()
    report: dict[str, list[str]] = {
        "provisioned": [],
        "renewed": [],
        "expired": [],
        "transitions": [],
    }
    if state.next_due is not None and now_ts < state.next_due:
        return report
    now = datetime.fromtimestamp(now_ts, UTC)
    for per in state.orders.values():
        for order in per.values():
            due = order.get("provisionAt")
            if due is not None and due <= now_ts:
                provision(state, order)
                report["provisioned"].append(order["id"])
    for per in state.transitions.values():
        for record in per.values():
            due = record.get("completeAt")
            if due is not None and due <= now_ts:
                complete_transition(state, record, now)
                report["transitions"].append(record["operationId"])
    for cid, subs in state.subscriptions.items():
        for sub in list(subs.values()):
            _age(state, cid, sub, now, report)
    state.next_due = _next_due(state, now)
    if any(report.values()):
        state.dirty = True
    return report


def _age(
    state: SandboxState,
    cid: str,
    sub: dict[str, Any],
    now: datetime,
    report: dict[str, list[str]],
) -> None:
    """Renew, expire or refresh one subscription for the time ``now``."""
    status = sub.get("status")
    if status not in ("active", "suspended"):
        return
    new_commerce = nce.is_nce(sub)
    due = renewal_due(sub)
    while due is not None and due <= now:
        if new_commerce and status == "active" and sub.get("autoRenewEnabled"):
            moved = nce.renew(sub, now)
            report["renewed"].append(sub["id"])
            if moved is not None:
                move_licences(
                    state,
                    cid,
                    moved[0],
                    moved[1],
                    stragglers=int(sub.get("transitionStragglers") or 0),
                )
        elif new_commerce:
            nce.expire(sub, now)
            report["expired"].append(sub["id"])
            return
        elif status == "active" and sub.get("autoRenewEnabled"):
            end = parse_iso(str(sub["commitmentEndDate"]))
            sub["commitmentEndDate"] = iso(term_end(end + timedelta(days=1), "P1Y"))
            bump_etag(sub)
            report["renewed"].append(sub["id"])
        elif status == "active":
            sub["status"] = "expired"
            bump_etag(sub)
            report["expired"].append(sub["id"])
            return
        else:  # a suspended legacy subscription waits to be deprovisioned
            return
        due = renewal_due(sub)
    if new_commerce:
        nce.refresh(sub, now)


def _next_due(state: SandboxState, now: datetime) -> float | None:
    """Return the clock time of the next thing due, or None when nothing is."""
    moments: list[float] = []
    for per in state.orders.values():
        moments.extend(o["provisionAt"] for o in per.values() if o.get("provisionAt"))
    for per in state.transitions.values():
        moments.extend(t["completeAt"] for t in per.values() if t.get("completeAt"))
    for subs in state.subscriptions.values():
        for sub in subs.values():
            if sub.get("status") not in ("active", "suspended"):
                continue
            if sub.get("status") == "suspended" and not nce.is_nce(sub):
                continue
            due = renewal_due(sub)
            if due is not None:
                moments.append(due.timestamp())
            if nce.is_nce(sub):
                window = nce.next_window_end(sub, now)
                if window is not None:
                    moments.append(window.timestamp())
    return min(moments) if moments else None


# ---------------------------------------------------------------------- orders


def place_order(
    state: SandboxState,
    customer: dict[str, Any],
    lines: list[dict[str, Any]],
    cycle: str,
    *,
    request_id: str | None = None,
    cart_id: str | None = None,
) -> dict[str, Any]:
    """Store a pending order (provisioned after the configured delay) and return it.

    A legacy order (no cart) gets an opaque, mixed-case id like the docs'
    examples; a checkout's order a GUID. The order is listed in GET …/orders
    only after the ``order_listing_delay_seconds`` fidelity switch; with
    ``friendly_name_copy=dropped`` its lines carry the product's own name.
    """
    order_id = legacy_order_id() if cart_id is None else str(uuid.uuid4()).upper()
    delay = max(0.0, float(state.settings["provisioning_delay_seconds"]))
    listing = float(state.settings["order_listing_delay_seconds"])
    if state.settings["friendly_name_copy"] == "dropped":
        lines = [{**line, "friendlyName": _product_name(line)} for line in lines]
    record: dict[str, Any] = {
        "id": order_id,
        "customerId": customer["id"],
        "referenceCustomerId": customer["id"],
        "billingCycle": cycle,
        "currencyCode": "USD",
        "lineItems": sorted(lines, key=lambda i: i["lineItemNumber"]),
        "creationDate": iso(state.now()),
        "status": "pending",
        "provisionAt": state.time() + delay,
        "listedAt": state.time() + listing,
        "msRequestId": request_id,
    }
    if cart_id is not None:
        record["cartId"] = cart_id
    state.orders.setdefault(customer["id"].lower(), {})[order_id.lower()] = record
    state.due_at(record["provisionAt"])
    if delay <= 0:
        settle(state)
    return record


def legacy_order_id() -> str:
    """Return an opaque, mixed-case order id shaped like the docs' examples.

    Reference: https://learn.microsoft.com/en-us/partner-center/developer/create-an-order
    (``Cs_jyTxubLpvdJXdo8xcQZN6I2RsLrgZ1``).
    """
    raw = base64.b64encode(uuid.uuid4().bytes + uuid.uuid4().bytes[:6]).decode()
    body = raw.rstrip("=").replace("+", "x").replace("/", "Q")
    return f"{body[:2]}_{body[2:32]}"


def _product_name(line: dict[str, Any]) -> str | None:
    """Return the name Partner Center gives a line that keeps no friendlyName."""
    sku = products.by_catalog_item(str(line.get("offerId") or ""))
    if sku is not None:
        return sku.title
    offer = catalog.offer_by_id(str(line.get("offerId") or ""))
    return str(offer["name"]) if offer is not None else None


def provision(state: SandboxState, order: dict[str, Any]) -> None:
    """Create the subscriptions of a pending order and mark it completed."""
    created = datetime.fromtimestamp(order["provisionAt"], UTC)
    for item in order["lineItems"]:
        sku = products.by_catalog_item(item["offerId"])
        if sku is not None:
            sub = _new_commerce_line(state, order, item, sku, created)
        else:
            offer = catalog.offer_by_id(item["offerId"])
            if offer is None:  # validated at order time; defensive only
                continue
            sub = _legacy_line(order, item, offer, created)
        state.add_subscription(sub)
        item["subscriptionId"] = sub["id"]
    order["status"] = "completed"
    order["provisionAt"] = None
    order["completedAt"] = iso(state.now())


def _new_commerce_line(
    state: SandboxState,
    order: dict[str, Any],
    item: dict[str, Any],
    sku: products.Sku,
    created: datetime,
) -> dict[str, Any]:
    """Return the NCE subscription an order line item creates."""
    custom_end = item.get("customTermEndDate")
    return nce.create(
        sub_id=str(uuid.uuid4()),
        customer_id=order["customerId"],
        sku=sku,
        quantity=item["quantity"],
        term=item.get("termDuration") or "P1Y",
        cycle=item.get("billingCycle") or order["billingCycle"],
        start=created,
        order_id=order["id"],
        now=state.now(),
        friendly_name=item.get("friendlyName"),
        partner_id=item.get("partnerIdOnRecord") or PARTNER_ID,
        end=parse_iso(custom_end) if custom_end else None,
    )


def _legacy_line(
    order: dict[str, Any],
    item: dict[str, Any],
    offer: dict[str, Any],
    created: datetime,
) -> dict[str, Any]:
    """Return the legacy subscription an order line item creates."""
    end = created.replace(hour=0, minute=0, second=0, microsecond=0)
    try:
        end = end.replace(year=end.year + 1)
    except ValueError:  # 29 February
        end = end.replace(year=end.year + 1, day=28)
    sub: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "offerId": offer["id"],
        "offerName": offer["name"],
        "friendlyName": item.get("friendlyName") or offer["name"],
        "quantity": item["quantity"],
        "unitType": "Licenses",
        "creationDate": iso(created),
        "effectiveStartDate": iso(
            created.replace(hour=0, minute=0, second=0, microsecond=0)
        ),
        "commitmentEndDate": iso(end),
        "status": "active",
        "autoRenewEnabled": True,
        "isTrial": False,
        "hasPurchasableAddons": False,
        "billingType": "license",
        "billingCycle": order["billingCycle"],
        "termDuration": "P1Y",
        "contractType": "subscription",
        "partnerId": item.get("partnerIdOnRecord") or PARTNER_ID,
        "orderId": order["id"],
        "suspensionReasons": [],
        "customerId": order["customerId"],
        "skuId": offer["skuId"],
        "version": 0,
    }
    bump_etag(sub)
    return sub


# ---------------------------------------------------------------------- licences


def move_licences(
    state: SandboxState,
    cid: str,
    old_sku: str,
    new_sku: str,
    *,
    limit: int | None = None,
    stragglers: int = 0,
) -> tuple[list[str], list[str]]:
    """Move holders of ``old_sku`` to ``new_sku``, leaving the last ``stragglers``.

    Return (user ids moved, user ids left on the old SKU).
    """
    holders = [
        u
        for u in state.users.get(cid.lower(), {}).values()
        if old_sku.lower() in {s.lower() for s in u["licenses"]}
    ]
    keep = max(0, len(holders) - max(0, stragglers))
    if limit is not None:
        keep = min(keep, max(0, limit))
    moved, left = holders[:keep], holders[keep:]
    for user in moved:
        user["licenses"] = [s for s in user["licenses"] if s.lower() != old_sku.lower()]
        if new_sku.lower() not in {s.lower() for s in user["licenses"]}:
            user["licenses"].append(new_sku)
    return [u["id"] for u in moved], [u["id"] for u in left]


# ---------------------------------------------------------------------- transitions


def complete_transition(
    state: SandboxState, record: dict[str, Any], now: datetime
) -> None:
    """Convert the seats of a pending transition and (maybe) move the licences.

    Into an existing subscription, its seats grow; a full transition of the
    documented shape converts the source in place (same id, the target's offer);
    otherwise a new subscription gets the seats. The events are appended to (or
    rewritten, as the record's ``eventStyle`` says).
    """
    cid = record["customerId"]
    source = state.subscription(cid, record["fromSubscriptionId"])
    target_sku = products.by_catalog_item(record["toCatalogItemId"])
    record["completeAt"] = None
    if source is None or target_sku is None:  # validated when requested
        return
    quantity = int(record["quantity"])
    old_sku = str(source["skuId"])
    target = None
    if record.get("toSubscriptionId"):
        target = state.subscription(cid, record["toSubscriptionId"])
    full = quantity >= int(source["quantity"])
    if target is not None:
        nce.set_quantity(target, int(target["quantity"]) + quantity, now)
        bump_etag(target)
        _end_or_shrink(source, quantity, target["id"], now)
    elif full and record.get("shape", "documented") == "documented":
        _convert_in_place(source, target_sku, record, now)
        record["toSubscriptionId"] = source["id"]
    else:
        target = _new_target(state, source, target_sku, record, now)
        record["toSubscriptionId"] = target["id"]
        _end_or_shrink(source, quantity, target["id"], now)
    bump_etag(source)
    moved: list[str] = []
    left: list[str] = []
    if record["transitionType"] == "transition_with_license_transfer":
        moved, left = move_licences(
            state,
            cid,
            old_sku,
            target_sku.entra_sku_id,
            limit=quantity,
            stragglers=int(source.get("transitionStragglers") or 0),
        )
    record["usersMoved"] = moved
    record["usersLeftBehind"] = left
    record["status"] = "Completed"
    _complete_events(record, left, iso(now))


def _convert_in_place(
    source: dict[str, Any], sku: products.Sku, record: dict[str, Any], now: datetime
) -> None:
    """Turn the source itself into the target SKU (the documented full transition)."""
    if source.get("friendlyName") in (None, "", source.get("offerName")):
        source["friendlyName"] = sku.title
    source["offerId"] = sku.catalog_item_id
    source["offerName"] = sku.title
    source["skuId"] = sku.entra_sku_id
    source["termDuration"] = record["termDuration"]
    source["billingCycle"] = record["billingCycle"]
    if isinstance(source.get("billing"), dict):
        nce.bill(source, "transitioned_in_place", now, offerId=sku.catalog_item_id)


def _new_target(
    state: SandboxState,
    source: dict[str, Any],
    sku: products.Sku,
    record: dict[str, Any],
    now: datetime,
) -> dict[str, Any]:
    """Return a new subscription holding the transitioned seats (added to state)."""
    same_term = record["termDuration"] == source.get("termDuration")
    target = nce.create(
        sub_id=str(uuid.uuid4()),
        customer_id=source["customerId"],
        sku=sku,
        quantity=int(record["quantity"]),
        term=record["termDuration"],
        cycle=record["billingCycle"],
        start=now,
        order_id=str(uuid.uuid4()).upper(),
        now=now,
        partner_id=source.get("partnerId") or PARTNER_ID,
        end=parse_iso(str(source["commitmentEndDate"])) if same_term else None,
    )
    target["migratedFromSubscriptionId"] = source["id"]
    state.add_subscription(target)
    return target


def _end_or_shrink(
    source: dict[str, Any], quantity: int, target_id: str, now: datetime
) -> None:
    """End the source (all its seats moved) or take ``quantity`` seats off it."""
    if quantity >= int(source["quantity"]):
        source["status"] = "expired"
        source["autoRenewEnabled"] = False
        source.pop("scheduledNextTermInstructions", None)
        if isinstance(source.get("billing"), dict):
            source["billing"]["status"] = "stopped"
            nce.bill(source, "transitioned", now, toSubscriptionId=target_id)
            nce.refresh(source, now)
    else:
        source["quantity"] = int(source["quantity"]) - quantity
        if isinstance(source.get("billing"), dict):
            nce.bill(source, "seats_transitioned", now, quantity=quantity)


def _complete_events(record: dict[str, Any], left: list[str], now: str) -> None:
    """Record a finished transition in its events: appended, or rewritten."""
    errors = [
        {
            "code": 12,
            "description": f"The licence of user {uid} could not be transferred.",
        }
        for uid in left
    ]
    transfer = record["transitionType"] == "transition_with_license_transfer"
    if record.get("eventStyle", "appended") == "appended":
        record["events"].append(
            {"name": "Conversion", "status": "Completed", "timestamp": now}
        )
        if transfer:
            record["events"].append(
                {
                    "name": "SeatReassignment",
                    "status": "Completed",
                    "timestamp": now,
                    "errors": errors,
                }
            )
        return
    for event in record["events"]:
        event["status"] = "Completed"
        event["timestamp"] = now
    if transfer:
        record["events"][-1]["errors"] = errors
