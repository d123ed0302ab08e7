"""Buy the target offer once; after any doubt, find this migration's own purchase.

A purchase is attributed by identity, never by resemblance: the order's line item
carries a reference made from the migration's stored MS-RequestId in its friendly
name, and only an order or subscription carrying this migration's reference is
adopted. Partner Center copies the friendly name to the subscription it creates.
"""

from __future__ import annotations

import uuid

from django.db import IntegrityError

from hub.models import (
    CustomerUser,
    LicenseMove,
    Migration,
    Outcome,
    normalise_guid,
)
from hub.workflow.events import audit_migration, settle_by_readback
from hub.workflow.lease import StepContext
from hub.workflow.outcomes import ADVANCE, StepFailed, StepOutcome, pc_error, wait
from hub.workflow.settings import provisioning_poll_seconds
from hub.workflow.step import Step
from hub.workflow.wording import NO_USAGE_LOCATION, usage_location_problem
from partner_center.errors import (
    AgreementNotAccepted,
    Conflict,
    GdapAccessDenied,
    PermanentError,
)

KEY = "purchase"
CODE_ORDER_IN_PROGRESS = 800060
# Room left for the name in a friendly name that ends with the reference.
NAME_ROOM = 100


def purchase_reference(request_id: uuid.UUID) -> str:
    """Return the reference a purchase carries: unique to its MS-RequestId."""
    return f"PH-{request_id.hex[:12].upper()}"


def friendly_name(m: Migration) -> str:
    """Return the friendly name of the line item: the target and the reference."""
    assert m.purchase_request_id is not None
    return f"{m.target_offer_name[:NAME_ROOM]} ({purchase_reference(m.purchase_request_id)})"


def _carries(name: str | None, reference: str) -> bool:
    return bool(name) and reference in str(name).upper()


def own_orders(ctx: StepContext) -> list[tuple[str, str]]:
    """Return (order id, subscription id) of every order carrying this reference."""
    m = ctx.migration
    assert m.purchase_request_id is not None
    reference = purchase_reference(m.purchase_request_id)
    found: list[tuple[str, str]] = []
    for order in ctx.client.list_orders(ctx.tenant):
        for item in order.line_items:
            if _carries(item.friendly_name, reference):
                found.append(
                    (normalise_guid(order.id), normalise_guid(item.subscription_id))
                )
    return found


def _reconcile(ctx: StepContext) -> bool:
    """Adopt the order (or subscription) this migration already bought; return True.

    Called before any resend of the order: the previous attempt may have been
    applied even though its answer was lost or never saved.
    """
    m = ctx.migration
    assert m.purchase_request_id is not None
    reference = purchase_reference(m.purchase_request_id)
    orders = own_orders(ctx)
    if orders:
        order_id, subscription_id = orders[0]
        _adopt(ctx, order_id, subscription_id, f"order {order_id}")
        _report_extra(m, orders[1:])
        return True
    for sub in ctx.client.list_subscriptions(ctx.tenant):
        if _carries(sub.friendly_name, reference):
            sub_id = normalise_guid(sub.id)
            _adopt(ctx, normalise_guid(sub.order_id), sub_id, f"subscription {sub_id}")
            return True
    settle_by_readback(m.purchase_request_id, applied=False, what=_what(m))
    return False


def _what(m: Migration) -> str:
    return f"Order of {m.quantity} seats of {m.target_offer_name}"


def _adopt(ctx: StepContext, order_id: str, subscription_id: str, what: str) -> None:
    m = ctx.migration
    assert m.purchase_request_id is not None
    try:
        ctx.save(order_id=order_id, new_subscription_id=subscription_id)
    except IntegrityError as exc:
        raise StepFailed(
            f"{what} carries this migration's reference but another migration "
            "holds it. Nothing more was bought; check the customer's orders in "
            "Partner Center."
        ) from exc
    settle_by_readback(m.purchase_request_id, applied=True, what=_what(m))
    audit_migration(
        m,
        "migration.purchase_adopted",
        f"Found {what}, bought by this migration (reference "
        f"{purchase_reference(m.purchase_request_id)}); not buying again",
    )


def _report_extra(m: Migration, extra: list[tuple[str, str]]) -> None:
    """Surface orders carrying this reference beyond the one adopted."""
    for order_id, subscription_id in extra:
        audit_migration(
            m,
            "migration.purchase_untracked",
            f"Bought, not tracked: order {order_id} (subscription "
            f"{subscription_id or 'not provisioned yet'}) also carries this "
            f"migration's reference but the migration uses order {m.order_id}. "
            "Cancel it in Partner Center if it is not needed.",
            outcome=Outcome.FAILURE,
            order_id=order_id,
            subscription_id=subscription_id,
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
                    "friendlyName": friendly_name(m),
                }
            ],
            request_id=str(m.purchase_request_id),
            billing_cycle=cycle if cycle in ("monthly", "annual") else "monthly",
        )
    except (AgreementNotAccepted, GdapAccessDenied):
        # Refused until someone accepts or grants something; the runner says what.
        ctx.save(purchase_request_id=None)
        raise
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
