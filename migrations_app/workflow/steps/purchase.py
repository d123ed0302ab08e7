"""Buy every target once — a legacy order or a new-commerce cart and checkout.

A purchase is attributed by identity, never by resemblance (see
purchase_records): its cart and the cart's orders, the answer to its own
request, or the reference made from the migration's stored MS-RequestId that its
lines carry in their friendly name. All targets of a migration (two for a
one-to-many mapping) are bought in one order or one checkout. `cart_id` and
`purchase_request_id` are never cleared once a checkout or order was sent.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.utils import timezone

from migrations_app.models import (
    CustomerUser,
    LicenseMove,
    Migration,
)
from migrations_app.models.wording import (
    NO_USAGE_LOCATION,
    lacking_usage_location,
    usage_location_problem,
    without_usage_location,
)
from migrations_app.workflow.events import settle_by_readback
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
from migrations_app.workflow.steps.purchase_cart import IN_PROGRESS, run_checkout
from migrations_app.workflow.steps.purchase_records import (
    adopt,
    all_lines,
    friendly_name,
    listing_wait_left,
    orders_of_new_subscriptions,
    own_lines,
    purchase_reference,
    record_lines,
    same_contents,
    send_request_id,
    targets_of,
    unsent_on,
    what,
)
from partner_center.errors import (
    AgreementNotAccepted,
    Conflict,
    GdapAccessDenied,
    NoRelationship,
    PermanentError,
    Throttled,
    TransientError,
)
from partner_center.models import OrderLineItem

__all__ = [
    "KEY",
    "STEP",
    "friendly_name",
    "own_lines",
    "purchase_reference",
    "record_lines",
    "targets_of",
]

KEY = "purchase"


def run(ctx: StepContext) -> StepOutcome:
    """Buy the targets once; after any doubt, look for the purchase first."""
    m = ctx.migration
    if m.bought:
        return ADVANCE
    targets = targets_of(m)
    modern = any(t.is_modern for t in targets)
    if m.purchase_request_id is not None and not modern:
        found = _reconcile_order(ctx)
        if found is not None:
            return found
    _check_usage_locations(m)
    if m.purchase_request_id is None:
        # Stored before sending, so a retry after any failure reuses it.
        ctx.save(purchase_request_id=uuid.uuid4())
    if modern:
        return run_checkout(ctx, targets, reseller_of_record(m))
    return _order(ctx)


def _order(ctx: StepContext) -> StepOutcome:
    """Send the legacy order once; a refusal proves only this send not applied."""
    m = ctx.migration
    lines = [
        OrderLineItem(
            offer_id=t.catalogue_id,
            quantity=m.quantity,
            friendly_name=friendly_name(m, t.name),
        )
        for t in targets_of(m)
    ]
    ctx.save(purchase_sent_at=timezone.now())
    try:
        order = ctx.client.create_order(
            ctx.tenant,
            lines,
            request_id=str(send_request_id(m)),
            billing_cycle=_legacy_cycle(m),
            partner_id_on_record=reseller_of_record(m),
        )
    except Conflict as exc:
        if exc.code in IN_PROGRESS:
            # Partner Center already has this request: find the order next time.
            return wait(provisioning_poll_seconds(), "order in progress")
        _not_applied(ctx)
        raise _refused(m, exc) from exc
    except (AgreementNotAccepted, GdapAccessDenied, NoRelationship):
        # Refused until someone accepts or grants something; the runner says what.
        _not_applied(ctx)
        raise
    except PermanentError as exc:
        _not_applied(ctx)
        raise _refused(m, exc) from exc
    except (Throttled, TransientError) as exc:
        unsent_on(ctx, exc)
        raise
    record_lines(ctx, all_lines([order]))
    return ADVANCE


def _not_applied(ctx: StepContext) -> None:
    """Move on to a new send: the last one was answered with a refusal."""
    m = ctx.migration
    ctx.save(purchase_attempt=m.purchase_attempt + 1, purchase_sent_at=None)


def _reconcile_order(ctx: StepContext) -> StepOutcome | None:
    """Adopt the legacy order this migration already placed, or prove it absent.

    Return ADVANCE when found, a wait while the order may not be listed yet, or
    None when no order was placed (then a new send may go). Raise StepFailed
    when, after the listing delay, an order with the same contents but without
    this migration's reference exists: it may be this purchase, unprovably.
    """
    m = ctx.migration
    if m.purchase_sent_at is None:
        return None  # the request id is stored before the send time: never sent
    seen = ctx.client.list_orders(ctx.tenant) + orders_of_new_subscriptions(ctx)
    lines = own_lines(m, seen)
    if lines:
        adopt(ctx, lines, "by the reference its lines carry")
        return ADVANCE
    left = listing_wait_left(m)
    if left > 0:
        return wait(min(left, 60.0), "the order may not be listed yet")
    alike = sorted({order.id for order in same_contents(m, seen)})
    if alike:
        raise StepFailed(_unproven(m, alike))
    settle_by_readback(send_request_id(m), applied=False, what=what(m))
    _not_applied(ctx)
    return None


def _unproven(m: Migration, orders: list[str]) -> str:
    assert m.purchase_request_id is not None and m.purchase_sent_at is not None
    return (
        f"The order for {m.quantity} seats of {m.target_offer_name} was sent on "
        f"{m.purchase_sent_at:%Y-%m-%d %H:%M} UTC (MS-RequestId "
        f"{send_request_id(m)}) and its answer was lost. Partner Center now lists "
        f"order {', '.join(orders)} buying the same seats, but without this "
        f"migration's reference {purchase_reference(m.purchase_request_id)}, so "
        "whether it is this purchase cannot be proven and nothing more is bought. "
        "In Partner Center, open the customer's orders and check who placed it: if "
        "it is this purchase, sync the customer and start a new migration, which "
        "uses the new subscription; if not, start a new migration to buy again."
    )


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
    what_ = f"{m.quantity} seats of {m.target_offer_name}"
    if m.order_id:
        return f"Bought {what_} (order {m.order_id})."
    if m.purchase_request_id:
        return f"Order for {what_} sent (MS-RequestId {m.purchase_request_id})."
    return f"Will buy {what_}."


STEP = Step(
    key=KEY,
    label="Buying the new subscription",
    title="Buy the new subscription",
    done="Bought the new subscription",
    verb="buy the new subscription",
    run=run,
    describe=describe,
)
