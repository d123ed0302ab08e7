"""Buy every target once — a legacy order or a new-commerce cart and checkout.

A purchase is attributed by identity, never by resemblance: each line carries a
reference made from the migration's stored MS-RequestId in its friendly name, and
only orders carrying this migration's reference are adopted. Partner Center copies
the friendly name to the subscriptions it creates. All targets of a migration (two
for a one-to-many mapping) are bought in one order or one checkout.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import IntegrityError

from migrations_app.models import (
    CustomerUser,
    LicenseMove,
    Migration,
    MigrationTarget,
    Outcome,
    normalise_guid,
)
from migrations_app.models.catalog import catalogue_key
from migrations_app.models.wording import (
    NO_USAGE_LOCATION,
    lacking_usage_location,
    usage_location_problem,
    without_usage_location,
)
from migrations_app.workflow.events import audit_migration, settle_by_readback
from migrations_app.workflow.lease import StepContext
from migrations_app.workflow.outcomes import (
    ADVANCE,
    StepFailed,
    StepOutcome,
    pc_error,
    wait,
)
from migrations_app.workflow.settings import provisioning_poll_seconds
from migrations_app.workflow.step import Step
from partner_center.errors import (
    AgreementNotAccepted,
    Conflict,
    GdapAccessDenied,
    NoRelationship,
    PermanentError,
)
from partner_center.models import Order

KEY = "purchase"
CODE_ORDER_IN_PROGRESS = 800060
CODE_CHECKOUT_IN_PROGRESS = 800064
# Room left for the name in a friendly name that ends with the reference.
NAME_ROOM = 100


def purchase_reference(request_id: uuid.UUID) -> str:
    """Return the reference a purchase carries: unique to its MS-RequestId."""
    return f"PH-{request_id.hex[:12].upper()}"


def friendly_name(m: Migration, name: str) -> str:
    """Return the friendly name of a line: the target's name and the reference."""
    assert m.purchase_request_id is not None
    return f"{name[:NAME_ROOM]} ({purchase_reference(m.purchase_request_id)})"


def _carries(name: str | None, reference: str) -> bool:
    return bool(name) and reference in str(name).upper()


def targets_of(m: Migration) -> list[MigrationTarget]:
    return list(m.targets.order_by("position"))


def own_lines(m: Migration, orders: list[Order]) -> list[tuple[str, Any]]:
    """Return (order id, line) of every order line carrying this migration's reference."""
    assert m.purchase_request_id is not None
    reference = purchase_reference(m.purchase_request_id)
    return [
        (normalise_guid(order.id), line)
        for order in orders
        for line in order.line_items
        if _carries(line.friendly_name, reference)
    ]


def record_lines(ctx: StepContext, lines: list[tuple[str, Any]]) -> None:
    """Give each target the subscription its line created, and the order its id."""
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


def _reconcile(ctx: StepContext) -> bool:
    """Adopt the purchase this migration already made; return True if found.

    Called before any resend: the previous attempt may have been applied even
    though its answer was lost or never saved.
    """
    m = ctx.migration
    lines = own_lines(m, ctx.client.list_orders(ctx.tenant))
    if not lines:
        settle_by_readback(m.purchase_request_id, applied=False, what=_what(m))
        return False
    orders = sorted({order_id for order_id, _ in lines})
    try:
        record_lines(ctx, lines)
    except IntegrityError as exc:
        raise StepFailed(
            f"Order {orders[0]} carries this migration's reference but another "
            "migration holds it. Nothing more was bought; check the customer's "
            "orders in Partner Center."
        ) from exc
    settle_by_readback(m.purchase_request_id, applied=True, what=_what(m))
    assert m.purchase_request_id is not None
    audit_migration(
        m,
        "migration.purchase_adopted",
        f"Found order {', '.join(orders)}, bought by this migration (reference "
        f"{purchase_reference(m.purchase_request_id)}); not buying again",
    )
    _report_extra(m, lines)
    return True


def _what(m: Migration) -> str:
    return f"Purchase of {m.quantity} seats of {m.target_offer_name}"


def _report_extra(m: Migration, lines: list[tuple[str, Any]]) -> None:
    """Surface lines carrying this reference beyond one per target."""
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
            f"{line.friendly_name} with this migration's reference, beyond the "
            "purchase it uses. Cancel it in Partner Center if it is not needed.",
            outcome=Outcome.FAILURE,
            order_id=order_id,
        )


def run(ctx: StepContext) -> StepOutcome:
    """Buy the targets once; after any doubt, look for the purchase first."""
    m = ctx.migration
    if m.bought:
        return ADVANCE
    if m.purchase_request_id is not None and _reconcile(ctx):
        return ADVANCE
    _check_usage_locations(m)
    if m.purchase_request_id is None:
        # Stored before sending, so a retry after any failure reuses it.
        ctx.save(purchase_request_id=uuid.uuid4())
    targets = targets_of(m)
    try:
        if any(t.is_modern for t in targets):
            return _checkout(ctx, targets)
        order = ctx.client.create_order(
            ctx.tenant,
            [
                {
                    "offerId": t.catalogue_id,
                    "quantity": m.quantity,
                    "friendlyName": friendly_name(m, t.name),
                }
                for t in targets
            ],
            request_id=str(m.purchase_request_id),
            billing_cycle=_legacy_cycle(m),
            partner_id_on_record=reseller_of_record(m),
        )
    except (AgreementNotAccepted, GdapAccessDenied, NoRelationship):
        # Refused until someone accepts or grants something; the runner says what.
        ctx.save(purchase_request_id=None, cart_id="")
        raise
    except Conflict as exc:
        if exc.code in (CODE_ORDER_IN_PROGRESS, CODE_CHECKOUT_IN_PROGRESS):
            # Partner Center already has this request: find the order next time.
            return wait(provisioning_poll_seconds(), "order in progress")
        ctx.save(purchase_request_id=None, cart_id="")
        raise _refused(m, exc) from exc
    except PermanentError as exc:
        # Refused, so nothing was bought; the next try is a new request.
        ctx.save(purchase_request_id=None, cart_id="")
        raise _refused(m, exc) from exc
    record_lines(ctx, [(normalise_guid(order.id), line) for line in order.line_items])
    return ADVANCE


def reseller_of_record(m: Migration) -> str | None:
    """Return the indirect reseller the new subscriptions are bought for, if any.

    The source subscription's reseller of record carries over; else the
    configured `PARTNER_CENTER_INDIRECT_RESELLER_ID` (an indirect provider's).
    """
    source = m.source_subscription
    return (
        (source.reseller_of_record if source is not None else "")
        or settings.PARTNER_CENTER_INDIRECT_RESELLER_ID
        or None
    )


def _legacy_cycle(m: Migration) -> str:
    source = m.source_subscription
    old = source.billing_cycle if source is not None else ""
    cycle = (m.billing_cycle or old or "").lower()
    return cycle if cycle in ("monthly", "annual") else "monthly"


def _checkout(ctx: StepContext, targets: list[MigrationTarget]) -> StepOutcome:
    """Put every target in one cart (made once) and check it out once."""
    m = ctx.migration
    if not m.cart_id:
        lines = [
            {
                "catalogItemId": _catalog_item(ctx, t),
                "quantity": m.quantity,
                "termDuration": m.term_duration or "P1Y",
                "billingCycle": m.billing_cycle or "monthly",
                "friendlyName": friendly_name(m, t.name),
            }
            for t in targets
        ]
        # Making a cart buys nothing, so it needs no reconcile of its own.
        cart = ctx.client.create_cart(
            ctx.tenant,
            lines,
            request_id=uuid.uuid4(),
            partner_id_on_record=reseller_of_record(m),
        )
        for _, error in cart.line_errors:
            raise error.as_error()
        ctx.save(cart_id=normalise_guid(cart.id))
    result = ctx.client.checkout_cart(
        ctx.tenant, m.cart_id, request_id=str(m.purchase_request_id)
    )
    for problem in result.order_errors:
        raise problem.as_error()
    bought = [
        (normalise_guid(order.id), line)
        for order in result.orders
        for line in order.line_items
    ]
    record_lines(ctx, bought)
    return ADVANCE


def _catalog_item(ctx: StepContext, target: MigrationTarget) -> str:
    """Return the `product:sku:availability` to buy, read now if not known."""
    if target.catalog_item_id:
        return target.catalog_item_id
    product, sku = target.catalogue_id.split(":", 1)
    term = ctx.migration.term_duration or "P1Y"
    found = ctx.client.list_availabilities(product, sku, customer_id=ctx.tenant)
    for availability in found:
        terms = {t.duration for t in availability.terms}
        if availability.catalog_item_id and (not terms or term in terms):
            target.catalog_item_id = availability.catalog_item_id
            target.save(update_fields=["catalog_item_id"])
            return availability.catalog_item_id
    raise StepFailed(
        f"Partner Center sells no {term} term of {target.name} to this customer. "
        "Choose another term or target, then start a new migration."
    )


def _check_usage_locations(m: Migration) -> None:
    """Refuse to buy while a user to move lacks a usage location (synced rows).

    A licence cannot be assigned to such a user, so the seat check would fail
    after the seats were bought and billed.
    """
    pending = list(m.license_moves.exclude(status=LicenseMove.Status.MOVED))
    if not pending:
        return
    located = set(
        CustomerUser.objects.filter(customer_id=m.customer_id)
        .exclude(without_usage_location())
        .values_list("user_id", flat=True)
    )
    missing = lacking_usage_location(pending, located)
    if not missing:
        return
    for mv in missing:
        mv.error_message = NO_USAGE_LOCATION
        mv.save(update_fields=["error_message"])
    raise StepFailed(
        "Nothing was bought: " + usage_location_problem(missing, bought=False)
    )


def _refused(m: Migration, exc: PermanentError) -> StepFailed:
    code, description = pc_error(exc)
    if exc.code == 2091 or exc.status == 403:
        text = (
            f"Partner Center would not sell {m.target_offer_name}: it is not available "
            "for purchase to this customer. Choose another target in the SKU mapping "
            "and start a new migration."
        )
    elif exc.code in (800004,):
        text = (
            f"Partner Center does not know the offer id {m.target_offer_id} of "
            f"{m.target_offer_name}. Fix the SKU mapping, then start again."
        )
    elif exc.code in (2002, 800067):
        text = (
            f"Partner Center refused the quantity {m.quantity} for "
            f"{m.target_offer_name}."
        )
    else:
        text = f"Partner Center refused the order for {m.target_offer_name}."
    return StepFailed(text, code, description)


def describe(m: Migration, finished: bool) -> str:
    what = f"{m.quantity} seats of {m.target_offer_name}"
    if m.order_id:
        return f"Bought {what} (order {m.order_id})."
    if m.purchase_request_id:
        return f"Order for {what} sent (MS-RequestId {m.purchase_request_id})."
    return f"Will buy {what}."


STEP = Step(
    key=KEY,
    label="Buying the new subscription",
    title="Buy the new subscription",
    done="Bought the new subscription",
    verb="buy the new subscription",
    run=run,
    describe=describe,
)
