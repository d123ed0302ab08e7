"""Wait for the renewal that applies the scheduled change, then check the users.

Partner Center renews from 00:00 UTC the day after the commitment end date and may
take up to a day. The step never sleeps: it waits through `next_attempt_at`
(beat picks the migration up again) until the renewal is due, then every so often
until it happened. Each claim reads the subscription first, because Partner
Center's clock, not this server's, decides when the renewal ran. Once the
subscription holds the target SKU, the target is recorded (the same subscription
id) and every user is read back: those the renewal moved are done, the others are
moved by the `move_licenses` step next.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.utils import timezone

from migrations_app.models import Migration, Subscription
from migrations_app.models.pc_values import date_text
from migrations_app.workflow.lease import StepContext
from migrations_app.workflow.outcomes import StepFailed, StepOutcome, wait
from migrations_app.workflow.step import Step
from migrations_app.workflow.steps import schedule
from migrations_app.workflow.steps.transition import (
    read_back_carried,
    record_target,
    single_target,
)

KEY = "await_renewal"
# After the renewal is due, look again this often (it may take up to 24 hours).
RENEWAL_POLL_SECONDS = 3600.0
# Stop waiting this long after the renewal was due.
RENEWAL_GRACE = timedelta(days=2)


def renewal_due(end: datetime) -> datetime:
    """Return when the renewal after commitment end date `end` starts (UTC)."""
    day = end.astimezone(UTC).date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def run(ctx: StepContext) -> StepOutcome:
    m = ctx.migration
    target = single_target(m)
    if not (target.new_subscription_id and target.sku_id):
        source = m.source
        current = ctx.client.get_subscription(ctx.tenant, source.subscription_id)
        local = Subscription.upsert_from_pc(current, customer=m.customer)
        if local.catalogue_key != target.catalogue_id:
            return _not_yet(m, local)
        record_target(ctx, target, current)
    return read_back_carried(ctx, "The renewal")


def _not_yet(m: Migration, local: Subscription) -> StepOutcome:
    """Wait for the renewal, or fail when it can no longer bring the change."""
    if not local.is_active:
        raise StepFailed(
            f"{local.display_name} is {local.label.lower()} and did not renew to "
            f"{m.target_offer_name}. Nothing else was changed."
        )
    target = m.targets.order_by("position").first()
    if target is None or not schedule.scheduled_to(local, target):
        raise StepFailed(
            f"Partner Center no longer holds the change of {local.display_name} to "
            f"{m.target_offer_name} for its renewal (any mid-term change, turning "
            "auto-renew off or the portal removes it). Retry to schedule it again."
        )
    end = local.commitment_end_date
    now = timezone.now()
    if end is None:
        return wait(RENEWAL_POLL_SECONDS, "renewal date not known")
    due = renewal_due(end)
    if now < due:
        return wait((due - now).total_seconds(), f"renews on {date_text(due)}")
    if now > due + RENEWAL_GRACE:
        raise StepFailed(
            f"{local.display_name} was due to renew to {m.target_offer_name} on "
            f"{date_text(due)} but has not. Check it in Partner Center, then retry."
        )
    return wait(RENEWAL_POLL_SECONDS, "renewal under way")


def retry_from(m: Migration) -> str:
    """Return where a retry resumes: schedule the change again if it is gone."""
    target = m.targets.order_by("position").first()
    if target is not None and target.new_subscription_id:
        return KEY
    if target is not None and schedule.scheduled_to(m.source, target):
        return KEY
    return schedule.KEY


def describe(m: Migration, finished: bool) -> str:
    if finished or m.new_subscription_id:
        return f"Renewed as {m.target_offer_name}; users it left behind are moved next."
    end = m.source.ends_on
    if end is None:
        return "Waits for the renewal."
    return f"Waits for the renewal on {date_text(renewal_due(end))}."


STEP = Step(
    key=KEY,
    label="Waiting for the renewal",
    title="Wait for the renewal",
    done="Renewed onto the new SKU",
    verb="check the renewal",
    run=run,
    describe=describe,
    retry_from=retry_from,
)
