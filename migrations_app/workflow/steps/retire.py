"""Retire the old subscription once every user holds the new licence."""

from __future__ import annotations

import uuid

from django.utils import timezone

from migrations_app.models import (
    LicenseMove,
    Migration,
    MigrationState,
    RetireMode,
    Subscription,
)
from migrations_app.models.pc_values import date_text
from migrations_app.models.wording import count
from migrations_app.workflow.events import settle_by_readback
from migrations_app.workflow.lease import StepContext
from migrations_app.workflow.outcomes import (
    ADVANCE,
    CustomerActionNeeded,
    StepFailed,
    StepOutcome,
    pc_error,
)
from migrations_app.workflow.step import Step
from partner_center.errors import Forbidden, NotFound, PermanentError
from partner_center.models import Subscription as PcSubscription

KEY = "retire_old"


def customer_action_text(m: Migration) -> str:
    """Return what the reseller must tell the customer about a foreign subscription."""
    end = m.source.commitment_end_date
    expire = (
        f", or let it expire on {date_text(end)} (cancelled subscriptions are not "
        "refunded)"
        if end
        else ", or let it expire at its end date (cancelled subscriptions are not "
        "refunded)"
    )
    return (
        f"{m.customer.company_name} must cancel "
        f"{m.source.display_name} through the partner or channel it "
        f"was bought from{expire}."
    )


def run(ctx: StepContext) -> StepOutcome:
    """Suspend, cancel or let expire the old subscription; hand a refusal back."""
    m = ctx.migration
    not_moved = m.license_moves.exclude(status=LicenseMove.Status.MOVED).count()
    if not_moved:
        # Never reached through the steps; a guard for the customer's sake.
        raise StepFailed(
            f"{count(not_moved, 'user does', 'users do')} not hold the new licence: "
            "the old subscription was left untouched."
        )
    source = m.source
    # Its partnerId is the indirect reseller of record, not a sign that it is not
    # ours: only Partner Center refusing the change (403/20002, 404) says so.
    try:
        current = ctx.client.get_subscription(ctx.tenant, source.subscription_id)
    except (Forbidden, NotFound) as exc:
        raise CustomerActionNeeded(customer_action_text(m), *pc_error(exc)) from exc
    was = (current.status or "").strip().lower()
    mode = effective_mode(m, current)
    if m.retire_request_id is not None:
        # An earlier claim sent the change; the read-back says whether it took.
        done: bool = {
            str(RetireMode.SUSPEND): was == Subscription.SUSPENDED,
            str(RetireMode.CANCEL): was == Subscription.DELETED,
            str(RetireMode.EXPIRE): current.auto_renew_enabled is False,
        }[mode]
        settle_by_readback(
            m.retire_request_id, applied=done, what=f"Retiring {source.display_name}"
        )
        if done:
            _store(m, current, was_suspended=False)
            return ADVANCE
    if was in (Subscription.SUSPENDED, Subscription.DELETED):
        # Already suspended or cancelled before the migration: it cannot renew
        # and cannot be edited; leave it as it is.
        Subscription.upsert_from_pc(current, customer=m.customer)
        return ADVANCE
    if mode == RetireMode.EXPIRE and current.auto_renew_enabled is False:
        Subscription.upsert_from_pc(current, customer=m.customer)
        return ADVANCE
    if m.retire_request_id is None:
        ctx.save(retire_request_id=uuid.uuid4())
    request_id = str(m.retire_request_id)
    try:
        if mode == RetireMode.CANCEL:
            updated = ctx.client.cancel_subscription(
                ctx.tenant, source.subscription_id, request_id
            )
        elif mode == RetireMode.SUSPEND:
            updated = ctx.client.suspend_subscription(
                ctx.tenant, source.subscription_id, request_id
            )
        else:
            updated = ctx.client.set_auto_renew(
                ctx.tenant, source.subscription_id, False, request_id
            )
    except (Forbidden, NotFound) as exc:
        ctx.save(retire_request_id=None)
        raise CustomerActionNeeded(customer_action_text(m), *pc_error(exc)) from exc
    except PermanentError as exc:
        ctx.save(retire_request_id=None)
        raise StepFailed(
            f"Partner Center refused to {VERBS[mode]} {source.display_name}. Every "
            "user already holds the new licence; the old subscription is unchanged.",
            *pc_error(exc),
        ) from exc
    _store(m, updated, was_suspended=was == Subscription.SUSPENDED)
    return ADVANCE


VERBS: dict[str, str] = {
    RetireMode.SUSPEND: "suspend",
    RetireMode.EXPIRE: "turn off auto-renew of",
    RetireMode.CANCEL: "cancel",
}


def effective_mode(m: Migration, current: PcSubscription) -> str:
    """Return how the old subscription really ends, given what it is now.

    A new-commerce subscription is never suspended (suspension keeps billing):
    it is cancelled while its cancellation window is open and the operator chose
    so, otherwise its auto-renew is turned off. A legacy one cannot be cancelled
    through the API: "cancel" falls back to letting it expire.
    """
    nce = bool(current.is_nce) or m.source.is_nce
    if not nce:
        return (
            RetireMode.SUSPEND
            if m.retire_mode == RetireMode.SUSPEND
            else (RetireMode.EXPIRE)
        )
    window = current.cancellation_allowed_until_date
    if (
        m.retire_mode == RetireMode.CANCEL
        and window is not None
        and window > timezone.now()
    ):
        return RetireMode.CANCEL
    return RetireMode.EXPIRE


def _store(m: Migration, data: PcSubscription, *, was_suspended: bool) -> None:
    local = Subscription.upsert_from_pc(data, customer=m.customer)
    if (
        local.is_suspended
        and not was_suspended
        and local.suspended_by_partnerhub_at is None
    ):
        local.suspended_by_partnerhub_at = timezone.now()
        local.save(update_fields=["suspended_by_partnerhub_at"])


def describe(m: Migration, finished: bool) -> str:
    source = m.source
    mode = m.retire_mode
    if source.is_nce and mode == RetireMode.SUSPEND:
        mode = RetireMode.EXPIRE
    if m.state == MigrationState.COMPLETED:
        if source.is_cancelled:
            return "Cancelled: the unused part of its term is refunded."
        if (
            m.retire_request_id is None
            and source.is_suspended
            and source.suspended_by_partnerhub_at is None
        ):
            return "Already suspended before the migration."
        if source.is_suspended:
            return "Suspended."
        return "Auto-renew turned off: it expires at its end date."
    if m.state == MigrationState.NEEDS_CUSTOMER_ACTION:
        return "Not touched: it belongs to another channel."
    plans: dict[str, str] = {
        RetireMode.SUSPEND: "Will suspend it once every user holds the new licence.",
        RetireMode.CANCEL: "Will cancel it for a refund once every user holds the "
        "new licence (or turn auto-renew off if its cancellation window has closed).",
        RetireMode.EXPIRE: "Will turn auto-renew off once every user holds the new "
        "licence.",
    }
    return plans.get(mode, "")


STEP = Step(
    key=KEY,
    label="Retiring the old subscription",
    title="Retire the old subscription",
    done="Old subscription retired",
    verb="retire the old subscription",
    run=run,
    describe=describe,
)
