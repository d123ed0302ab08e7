"""Retire the old subscription once every user holds the new licence."""

from __future__ import annotations

import uuid

from django.utils import timezone

from hub.models import LicenseMove, Migration, MigrationState, RetireMode, Subscription
from hub.models.partner import date_text, is_foreign_partner
from hub.workflow.events import settle_by_readback
from hub.workflow.lease import StepContext
from hub.workflow.outcomes import (
    ADVANCE,
    CustomerActionNeeded,
    StepFailed,
    StepOutcome,
    pc_error,
)
from hub.workflow.step import Step
from hub.workflow.wording import count
from partner_center.errors import Forbidden, NotFound, PermanentError

KEY = "retire_old"


def customer_action_text(m: Migration) -> str:
    """Return what the reseller must tell the customer about a foreign subscription."""
    end = m.source_subscription.commitment_end_date
    expire = (
        f", or let it expire on {date_text(end)} (cancelled subscriptions are not "
        "refunded)"
        if end
        else ", or let it expire at its end date (cancelled subscriptions are not "
        "refunded)"
    )
    return (
        f"{m.customer.company_name} must cancel "
        f"{m.source_subscription.display_name} through the partner or channel it "
        f"was bought from{expire}."
    )


def run(ctx: StepContext) -> StepOutcome:
    """Suspend the old subscription, or turn its auto-renew off; never a foreign one."""
    m = ctx.migration
    not_moved = m.license_moves.exclude(status=LicenseMove.Status.MOVED).count()
    if not_moved:
        # Never reached through the steps; a guard for the customer's sake.
        raise StepFailed(
            f"{count(not_moved, 'user does', 'users do')} not hold the new licence: "
            "the old subscription was left untouched."
        )
    source = m.source_subscription
    if source.is_foreign:
        raise CustomerActionNeeded(customer_action_text(m))
    try:
        current = ctx.client.get_subscription(ctx.tenant, source.subscription_id)
    except (Forbidden, NotFound) as exc:
        raise CustomerActionNeeded(customer_action_text(m), *pc_error(exc)) from exc
    if is_foreign_partner(current.partner_id or ""):
        Subscription.upsert_from_pc(current, customer=m.customer)
        raise CustomerActionNeeded(customer_action_text(m))
    was = (current.status or "").strip().lower()
    if m.retire_request_id is not None:
        # An earlier claim sent the change; the read-back says whether it took.
        done = (
            was == Subscription.SUSPENDED
            if m.retire_mode == RetireMode.SUSPEND
            else current.auto_renew_enabled is False
        )
        settle_by_readback(
            m.retire_request_id, applied=done, what=f"Retiring {source.display_name}"
        )
        if done:
            local = Subscription.upsert_from_pc(current, customer=m.customer)
            if local.is_suspended and local.suspended_by_partnerhub_at is None:
                local.suspended_by_partnerhub_at = timezone.now()
                local.save(update_fields=["suspended_by_partnerhub_at"])
            return ADVANCE
    if was == Subscription.SUSPENDED:
        # Already suspended before the migration: it cannot renew and a
        # suspended one cannot be edited; leave it as it is.
        Subscription.upsert_from_pc(current, customer=m.customer)
        return ADVANCE
    if m.retire_request_id is None:
        ctx.save(retire_request_id=uuid.uuid4())
    try:
        if m.retire_mode == RetireMode.EXPIRE:
            updated = ctx.client.set_auto_renew(
                ctx.tenant, source.subscription_id, False, str(m.retire_request_id)
            )
        else:
            updated = ctx.client.suspend_subscription(
                ctx.tenant, source.subscription_id, str(m.retire_request_id)
            )
    except (Forbidden, NotFound) as exc:
        ctx.save(retire_request_id=None)
        raise CustomerActionNeeded(customer_action_text(m), *pc_error(exc)) from exc
    except PermanentError as exc:
        ctx.save(retire_request_id=None)
        verb = (
            "turn off auto-renew of"
            if m.retire_mode == RetireMode.EXPIRE
            else "suspend"
        )
        raise StepFailed(
            f"Partner Center refused to {verb} {source.display_name}. Every user "
            "already holds the new licence; the old subscription is unchanged.",
            *pc_error(exc),
        ) from exc
    local = Subscription.upsert_from_pc(updated, customer=m.customer)
    if local.is_suspended and was != Subscription.SUSPENDED:
        local.suspended_by_partnerhub_at = timezone.now()
        local.save(update_fields=["suspended_by_partnerhub_at"])
    return ADVANCE


def describe(m: Migration, finished: bool) -> str:
    source = m.source_subscription
    suspend = m.retire_mode == RetireMode.SUSPEND
    if m.state == MigrationState.COMPLETED:
        if (
            m.retire_request_id is None
            and source.is_suspended
            and source.suspended_by_partnerhub_at is None
        ):
            return "Already suspended before the migration."
        return (
            "Suspended."
            if suspend
            else "Auto-renew turned off: it expires at its end date."
        )
    if m.state == MigrationState.NEEDS_CUSTOMER_ACTION:
        return "Not touched: it belongs to another channel."
    return (
        "Will suspend it once every user holds the new licence."
        if suspend
        else "Will turn auto-renew off once every user holds the new licence."
    )


STEP = Step(
    key=KEY,
    label="Retiring the old subscription",
    title="Retire the old subscription",
    done="Old subscription retired",
    verb="retire the old subscription",
    run=run,
    describe=describe,
)
