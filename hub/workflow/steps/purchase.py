"""Buy the target offer once; after any doubt, look for the purchase first."""

from __future__ import annotations

import uuid
from datetime import timedelta

from hub.models import (
    CustomerUser,
    LicenseMove,
    Migration,
    MigrationState,
    normalise_guid,
    normalise_offer_id,
)
from hub.workflow.events import audit_migration
from hub.workflow.lease import StepContext
from hub.workflow.outcomes import ADVANCE, StepFailed, StepOutcome, pc_error, wait
from hub.workflow.settings import provisioning_poll_seconds
from hub.workflow.step import Step
from hub.workflow.wording import NO_USAGE_LOCATION, usage_location_problem
from partner_center.errors import Conflict, PermanentError

KEY = "purchase"
# Orders in Partner Center carry whole-second creation dates; allow for that and
# for clock skew when looking for an order this migration may already have placed.
ADOPTION_SLACK = timedelta(minutes=2)
CODE_ORDER_IN_PROGRESS = 800060


def _reconcile(ctx: StepContext) -> bool:
    """Adopt an order or subscription this migration already bought; return True.

    Called before any resend of the order: the previous attempt may have been
    applied even though its answer was lost or never saved.
    """
    m = ctx.migration
    target = m.target_offer_id
    since = m.created_at - ADOPTION_SLACK
    # A cancelled migration of the same source left its purchase for this one.
    others = Migration.objects.exclude(pk=m.pk).exclude(
        state=MigrationState.CANCELLED, source_subscription_id=m.source_subscription_id
    )
    taken_orders = set(others.exclude(order_id="").values_list("order_id", flat=True))
    taken_subs = set(
        others.exclude(new_subscription_id="").values_list(
            "new_subscription_id", flat=True
        )
    )
    for order in ctx.client.list_orders(ctx.tenant):
        order_id = normalise_guid(order.id)
        if order_id in taken_orders:
            continue
        if order.creation_date is not None and order.creation_date < since:
            continue
        for item in order.line_items:
            if (
                normalise_offer_id(item.offer_id) != target
                or item.quantity != m.quantity
            ):
                continue
            ctx.save(
                order_id=order_id,
                new_subscription_id=normalise_guid(item.subscription_id),
            )
            _audit_adoption(m, f"order {order_id}")
            return True
    for sub in ctx.client.list_subscriptions(ctx.tenant):
        sub_id = normalise_guid(sub.id)
        if normalise_offer_id(sub.offer_id) != target or sub_id in taken_subs:
            continue
        if normalise_guid(sub.order_id) in taken_orders:
            continue
        if sub.creation_date is None or sub.creation_date < since:
            continue
        ctx.save(order_id=normalise_guid(sub.order_id), new_subscription_id=sub_id)
        _audit_adoption(m, f"subscription {sub_id}")
        return True
    return False


def _audit_adoption(m: Migration, what: str) -> None:
    audit_migration(
        m,
        "migration.purchase_adopted",
        f"Found {what} already bought by this migration; not buying again",
    )


def run(ctx: StepContext) -> StepOutcome:
    """Buy the target offer once; after any doubt, look for the purchase first."""
    m = ctx.migration
    if m.bought:
        return ADVANCE
    if m.purchase_request_id is not None and _reconcile(ctx):
        return ADVANCE
    _check_usage_locations(m)
    if m.purchase_request_id is None:
        # Stored before sending, so a retry after any failure reuses it.
        ctx.save(purchase_request_id=uuid.uuid4())
    cycle = (m.source_subscription.billing_cycle or "").lower()
    try:
        order = ctx.client.create_order(
            ctx.tenant,
            [
                {
                    "offerId": m.target_offer_id,
                    "quantity": m.quantity,
                    "friendlyName": m.target_offer_name,
                }
            ],
            request_id=str(m.purchase_request_id),
            billing_cycle=cycle if cycle in ("monthly", "annual") else "monthly",
        )
    except Conflict as exc:
        if exc.code == CODE_ORDER_IN_PROGRESS:
            # Partner Center already has this request: find the order next time.
            return wait(provisioning_poll_seconds(), "order in progress")
        ctx.save(purchase_request_id=None)
        raise _refused(m, exc) from exc
    except PermanentError as exc:
        # Refused, so nothing was bought; the next try is a new request.
        ctx.save(purchase_request_id=None)
        raise _refused(m, exc) from exc
    subscription_id = next(
        (i.subscription_id for i in order.line_items if i.subscription_id), ""
    )
    ctx.save(
        order_id=normalise_guid(order.id),
        new_subscription_id=normalise_guid(subscription_id),
    )
    return ADVANCE


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
        .exclude(usage_location="")
        .values_list("user_id", flat=True)
    )
    missing = [mv for mv in pending if mv.user_id not in located]
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
    if m.order_id:
        return (
            f"Bought {m.quantity} seats of {m.target_offer_name} (order {m.order_id})."
        )
    if m.purchase_request_id:
        return (
            f"Order for {m.quantity} seats of {m.target_offer_name} sent "
            f"(MS-RequestId {m.purchase_request_id})."
        )
    return f"Will buy {m.quantity} seats of {m.target_offer_name}."


STEP = Step(
    key=KEY,
    label="Buying the new subscription",
    title="Buy the new subscription",
    done="Bought the new subscription",
    verb="buy the new subscription",
    run=run,
    describe=describe,
)
