"""How a purchase is recognised and recorded: by identity first.

A purchase is ours when its cart is ours (the cart id, its status and its order
ids), when its order came back in the answer to our request, or when its lines
or new subscriptions carry the reference made from the migration's stored
MS-RequestId in their friendly name (Partner Center may not copy it: that is not
documented). Matching by contents (offer, quantity, placed after the send) only
locates an order once a purchase is proven (an Ordered cart); for a legacy order
it only proves that the purchase cannot be proven absent, and the step stops.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError
from django.utils import timezone

from migrations_app.models import (
    Migration,
    MigrationTarget,
    Outcome,
    normalise_guid,
)
from migrations_app.models.catalog import catalogue_key
from migrations_app.workflow.events import audit_migration, settle_by_readback
from migrations_app.workflow.lease import StepContext
from migrations_app.workflow.outcomes import StepFailed
from migrations_app.workflow.settings import order_listing_delay_seconds
from partner_center.errors import Throttled, TransientError
from partner_center.models import Order

# Room left for the name in a friendly name that ends with the reference.
NAME_ROOM = 100
# Clocks differ: an order stamped a little before the send may still be ours.
CLOCK_SKEW = timedelta(minutes=5)

Line = tuple[str, Any]


def purchase_reference(request_id: uuid.UUID) -> str:
    """Return the reference a purchase carries: unique to its MS-RequestId."""
    return f"PH-{request_id.hex[:12].upper()}"


def friendly_name(m: Migration, name: str) -> str:
    """Return the friendly name of a line: the target's name and the reference."""
    assert m.purchase_request_id is not None
    return f"{name[:NAME_ROOM]} ({purchase_reference(m.purchase_request_id)})"


def send_request_id(m: Migration, attempt: int | None = None) -> uuid.UUID:
    """Return the MS-RequestId of send number `attempt` (default: the current one).

    The first send uses the stored purchase_request_id; a later one, made only
    after the previous was proven not applied, an id derived from it, so a
    service that replays a repeated request id never replays an old refusal.
    """
    assert m.purchase_request_id is not None
    number = m.purchase_attempt if attempt is None else attempt
    if number == 0:
        return m.purchase_request_id
    return uuid.uuid5(m.purchase_request_id, f"purchase-attempt-{number}")


def targets_of(m: Migration) -> list[MigrationTarget]:
    """Return the migration's targets in their order."""
    return list(m.targets.order_by("position"))


def _carries(name: str | None, reference: str) -> bool:
    return bool(name) and reference in str(name).upper()


def own_lines(m: Migration, orders: list[Order]) -> list[Line]:
    """Return (order id as given, line) of every line carrying this migration's reference."""
    assert m.purchase_request_id is not None
    reference = purchase_reference(m.purchase_request_id)
    return [
        (order.id, line)
        for order in orders
        for line in order.line_items
        if _carries(line.friendly_name, reference)
    ]


def all_lines(orders: list[Order]) -> list[Line]:
    """Return (order id as given, line) of every line of `orders`."""
    return [(order.id, line) for order in orders for line in order.line_items]


def record_lines(ctx: StepContext, lines: list[Line]) -> None:
    """Give each target the subscription its line created, and the order its id.

    Order ids are stored exactly as Partner Center gave them.
    """
    m = ctx.migration
    targets = targets_of(m)
    for _, line in lines:
        key = catalogue_key(line.offer_id)
        subscription_id = normalise_guid(line.subscription_id)
        for target in targets:
            if target.catalogue_id == key and subscription_id:
                if target.new_subscription_id != subscription_id:
                    target.new_subscription_id = subscription_id
                    target.save(update_fields=["new_subscription_id"])
                break
    order_id = lines[0][0] if lines else m.order_id
    first = targets[0].new_subscription_id if targets else ""
    ctx.save(order_id=order_id, new_subscription_id=first or m.new_subscription_id)


def what(m: Migration) -> str:
    """Return the purchase in plain words (for audit messages)."""
    return f"Purchase of {m.quantity} seats of {m.target_offer_name}"


def settle_earlier_sends(m: Migration, *, applied: bool) -> None:
    """Settle every earlier send of this purchase still pending, from a read-back.

    Called once the current send's answer proves what the earlier ones did: a
    checkout placed by this send means none before it was applied; a cart
    already ordered means the one earlier send still open was.
    """
    for attempt in range(m.purchase_attempt):
        settle_by_readback(send_request_id(m, attempt), applied=applied, what=what(m))


def adopt(ctx: StepContext, lines: list[Line], how: str) -> None:
    """Record `lines` as this migration's purchase, found `how`, and audit it once.

    Raise StepFailed if another migration already holds the order.
    """
    m = ctx.migration
    assert m.purchase_request_id is not None
    orders = sorted({order_id for order_id, _ in lines})
    try:
        record_lines(ctx, lines)
    except IntegrityError as exc:
        raise StepFailed(
            f"Order {orders[0]} is this migration's purchase but another migration "
            "holds it. Nothing more was bought; check the customer's orders in "
            "Partner Center."
        ) from exc
    settle_by_readback(send_request_id(m), applied=True, what=what(m))
    settle_earlier_sends(m, applied=False) if m.purchase_attempt else None
    audit_migration(
        m,
        "migration.purchase_adopted",
        f"Found order {', '.join(orders)}, bought by this migration ({how}; "
        f"reference {purchase_reference(m.purchase_request_id)}); not buying again",
    )
    report_extra(m, lines)


def report_extra(m: Migration, lines: list[Line]) -> None:
    """Surface lines beyond one per target (bought, not tracked)."""
    seen: set[str] = set()
    for order_id, line in lines:
        key = catalogue_key(line.offer_id)
        if key not in seen:
            seen.add(key)
            continue
        audit_migration(
            m,
            "migration.purchase_untracked",
            f"Bought, not tracked: order {order_id} buys {line.quantity} more seats of "
            f"{line.friendly_name} for this migration, beyond the purchase it uses. "
            "Cancel it in Partner Center if it is not needed.",
            outcome=Outcome.FAILURE,
            order_id=order_id,
        )


def unsent_on(ctx: StepContext, exc: BaseException) -> None:
    """Forget the send time when `exc` proves the send was not applied.

    A 429 (or the local rate limit) and a transient failure known to precede
    any write change nothing, so no listing delay need pass before the same
    request is sent again.
    """
    throttled = isinstance(exc, Throttled)
    clean = isinstance(exc, TransientError) and not exc.ambiguous
    if throttled or clean:
        ctx.save(purchase_sent_at=None)


def listing_wait_left(m: Migration) -> float:
    """Return the seconds left before a new order must be listed (0 once past)."""
    if m.purchase_sent_at is None:
        return 0.0
    due = m.purchase_sent_at + timedelta(seconds=order_listing_delay_seconds())
    return max(0.0, (due - timezone.now()).total_seconds())


def _placed_since(order: Order, since: datetime | None) -> bool:
    created = order.creation_date
    return since is None or created is None or created >= since - CLOCK_SKEW


def same_contents(m: Migration, orders: list[Order]) -> list[Order]:
    """Return the orders that buy exactly this migration's targets and quantity.

    Only orders placed since the purchase was sent and held by no other
    migration count.
    """
    keys = {t.catalogue_id for t in targets_of(m)}
    held = set(
        Migration.objects.exclude(pk=m.pk)
        .exclude(order_id="")
        .values_list("order_id", flat=True)
    )
    found = []
    for order in orders:
        lines = order.line_items
        if (
            lines
            and order.id not in held
            and _placed_since(order, m.purchase_sent_at)
            and all(catalogue_key(x.offer_id) in keys for x in lines)
            and all(x.quantity == m.quantity for x in lines)
        ):
            found.append(order)
    return found


def orders_of_new_subscriptions(ctx: StepContext) -> list[Order]:
    """Return the orders of subscriptions created since the purchase was sent.

    Subscriptions name their order (`orderId`), and an order is found by id at
    once, while the order list may lag by up to 15 minutes.
    """
    m = ctx.migration
    since = m.purchase_sent_at
    keys = {t.catalogue_id for t in targets_of(m)}
    order_ids: list[str] = []
    for sub in ctx.client.list_subscriptions(ctx.tenant):
        created = sub.creation_date
        if not sub.order_id or sub.order_id in order_ids:
            continue
        if since is not None and created is not None and created < since - CLOCK_SKEW:
            continue
        if catalogue_key(sub.offer_id) in keys:
            order_ids.append(sub.order_id)
    return [ctx.client.get_order(ctx.tenant, oid) for oid in order_ids]
