"""Schedule the change of SKU for the old subscription's next renewal.

A PATCH of `scheduledNextTermInstructions` (product, SKU, availability, term,
billing cycle and quantity; auto-renew on). The MS-RequestId is stored before
sending; after an ambiguous outcome the subscription is read back first: the
change found there settles the pending write, and only its absence sends it
again (with the same id). Nothing is bought and nobody is moved yet: the new SKU
starts at renewal, so no overlap is billed.
"""

from __future__ import annotations

import uuid

from migrations_app.models import Migration, MigrationTarget, Subscription
from migrations_app.models.pc_values import date_text
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
from migrations_app.workflow.steps.transition import catalog_item_of, single_target
from partner_center.errors import Conflict, PermanentError
from partner_center.models import ProductTerm, ScheduledNextTermInstructions

KEY = "schedule_change"
CODE_IN_PROGRESS = 800060


def scheduled_to(sub: Subscription, target: MigrationTarget) -> bool:
    """Return True if `sub` holds a change to `target` for its next term."""
    key = f"{sub.scheduled_product_id}:{sub.scheduled_sku_id}"
    return bool(sub.scheduled_product_id) and key == target.catalogue_id


def _what(m: Migration) -> str:
    return f"Change of {m.source.display_name} to {m.target_offer_name} at renewal"


def run(ctx: StepContext) -> StepOutcome:
    m = ctx.migration
    target = single_target(m)
    source = m.source
    current = ctx.client.get_subscription(ctx.tenant, source.subscription_id)
    local = Subscription.upsert_from_pc(current, customer=m.customer)
    if scheduled_to(local, target):
        settle_by_readback(m.purchase_request_id, applied=True, what=_what(m))
        return ADVANCE
    settle_by_readback(m.purchase_request_id, applied=False, what=_what(m))
    if not local.is_active:
        raise StepFailed(
            f"{source.display_name} is {local.label.lower()}: only an active "
            "subscription can change at renewal. Nothing was sent."
        )
    item = catalog_item_of(ctx, target).split(":")
    if len(item) != 3:
        raise StepFailed(f"{target.name} is not a new-commerce SKU; nothing was sent.")
    if m.purchase_request_id is None:
        # Stored before sending, so a retry after any failure reuses it.
        ctx.save(purchase_request_id=uuid.uuid4())
    instructions = ScheduledNextTermInstructions(
        product=ProductTerm(
            product_id=item[0],
            sku_id=item[1],
            availability_id=item[2],
            billing_cycle=m.billing_cycle or local.billing_cycle,
            term_duration=m.term_duration or local.term_duration,
        ),
        quantity=m.quantity,
    )
    try:
        updated = ctx.client.schedule_next_term(
            ctx.tenant,
            source.subscription_id,
            instructions,
            request_id=str(m.purchase_request_id),
        )
    except Conflict as exc:
        if exc.code == CODE_IN_PROGRESS:
            return wait(provisioning_poll_seconds(), "change in progress")
        ctx.save(purchase_request_id=None)
        raise _refused(m, exc) from exc
    except PermanentError as exc:
        # Refused, so nothing changed; the next try is a new request.
        ctx.save(purchase_request_id=None)
        raise _refused(m, exc) from exc
    Subscription.upsert_from_pc(updated, customer=m.customer)
    return ADVANCE


def _refused(m: Migration, exc: PermanentError) -> StepFailed:
    return StepFailed(
        f"Partner Center refused to schedule the change of "
        f"{m.source.display_name} to {m.target_offer_name} at renewal. "
        "Nothing changed; start a new migration that buys the new subscription "
        "instead.",
        *pc_error(exc),
    )


def describe(m: Migration, finished: bool) -> str:
    source = m.source
    end = source.ends_on
    when = f"on {date_text(end)}" if end else "at its renewal"
    if finished:
        return f"Scheduled the change to {m.target_offer_name} at its renewal."
    return (
        f"Will schedule {source.display_name} to change to {m.target_offer_name} "
        f"{when}, for {m.quantity} seats. Nothing is bought."
    )


STEP = Step(
    key=KEY,
    label="Scheduling the change at renewal",
    title="Schedule the change at renewal",
    done="Change scheduled for the renewal",
    verb="schedule the change at renewal",
    run=run,
    describe=describe,
)
