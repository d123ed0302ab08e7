"""Scheduled migrations: move or cancel one, start the ones whose time has come.

Beat starts due schedules every minute, claiming each with a conditional UPDATE
inside the transaction that starts it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from migrations_app.domain.bulk import bulk_customer_plan
from migrations_app.domain.plan import migration_plans
from migrations_app.models import (
    BulkCustomerOutcome,
    BulkRunCustomer,
    MigrationSchedule,
    ScheduleState,
    StartWhen,
)
from migrations_app.models.audit import audit_record
from migrations_app.models.pc_values import date_text
from migrations_app.services.bulk.items import left_out_text, start_items
from migrations_app.services.bulk.options import BulkNotAllowed
from migrations_app.services.migrations import (
    MigrationAlreadyRunning,
    MigrationNotAllowed,
    migration_start,
)

logger = logging.getLogger(__name__)

# Schedules started per look; the rest wait for the next minute.
DUE_LIMIT = 200


def schedule_audit(
    schedule: MigrationSchedule,
    action: str,
    actor: Any,
    ip: str | None,
    message: str,
    **details: Any,
) -> None:
    """Record one audit event about `schedule`, naming its customer and start."""
    audit_record(
        action=action,
        actor=actor,
        ip_address=ip,
        customer_tenant_id=str(schedule.customer.tenant_id),
        customer_name=schedule.customer.company_name,
        message=message,
        details={
            "schedule": schedule.pk,
            "bulk_run": schedule.bulk_run_id,
            "start_at": schedule.start_at.isoformat(),
            **details,
        },
    )


def schedule_reschedule(
    *,
    schedule: MigrationSchedule,
    start_at: datetime,
    actor: Any,
    ip_address: str | None = None,
    now: datetime | None = None,
) -> MigrationSchedule:
    """Move a waiting schedule to `start_at`.

    A schedule counted back from an end date becomes one on that date, so what
    it says it was chosen to do stays true; one at renewal stays at renewal (it
    still starts the change-at-renewal path) and remembers the moved date.
    Raise BulkNotAllowed if it already started or was cancelled, or if
    `start_at` has passed.
    """
    moment = now or timezone.now()
    if start_at <= moment:
        raise BulkNotAllowed("The new start must be in the future.")
    before = schedule.start_at
    with transaction.atomic():
        changed = MigrationSchedule.objects.filter(
            pk=schedule.pk, state=ScheduleState.SCHEDULED
        ).update(
            start_at=start_at,
            start_on=start_at,
            when=(
                StartWhen.AT_RENEWAL
                if schedule.when == StartWhen.AT_RENEWAL
                else StartWhen.ON_DATE
            ),
            days_before=None,
            updated_at=moment,
        )
        if not changed:
            raise BulkNotAllowed(
                "This migration is no longer waiting: it started or was cancelled."
            )
        schedule.refresh_from_db()
        schedule_audit(
            schedule,
            "schedule.changed",
            actor,
            ip_address,
            f"Moved the scheduled migration of {schedule.customer.company_name} "
            f"from {date_text(before)} {before:%H:%M} to {date_text(start_at)} "
            f"{start_at:%H:%M} UTC.",
            previous=before.isoformat(),
        )
    return schedule


def schedule_cancel(
    *,
    schedule: MigrationSchedule,
    actor: Any,
    ip_address: str | None = None,
) -> MigrationSchedule:
    """Cancel a waiting schedule; raise BulkNotAllowed if it is not waiting."""
    with transaction.atomic():
        changed = MigrationSchedule.objects.filter(
            pk=schedule.pk, state=ScheduleState.SCHEDULED
        ).update(state=ScheduleState.CANCELLED, updated_at=timezone.now())
        if not changed:
            raise BulkNotAllowed(
                "This migration is no longer waiting: it started or was cancelled."
            )
        schedule.refresh_from_db()
        if schedule.bulk_run_id:
            BulkRunCustomer.objects.filter(
                bulk_run_id=schedule.bulk_run_id,
                customer_id=schedule.customer_id,
                outcome=BulkCustomerOutcome.SCHEDULED,
            ).update(
                outcome=BulkCustomerOutcome.NOT_STARTED,
                reason="Its scheduled start was cancelled.",
            )
        schedule_audit(
            schedule,
            "schedule.cancelled",
            actor,
            ip_address,
            f"Cancelled the scheduled migration of {schedule.customer.company_name}.",
        )
    return schedule


def _start_schedule(schedule: MigrationSchedule, now: datetime) -> bool:
    """Start one due schedule, or record why it could not; return True if started."""
    plans = migration_plans(customers=[schedule.customer])
    found = bulk_customer_plan(
        plans[schedule.customer_id],
        when=schedule.when,
        retire=schedule.retire,
        path=schedule.path,
    )
    run = schedule.bulk_run
    try:
        with transaction.atomic():
            claimed = MigrationSchedule.objects.filter(
                pk=schedule.pk, state=ScheduleState.SCHEDULED, start_at__lte=now
            ).update(state=ScheduleState.STARTED, started_at=now, updated_at=now)
            if not claimed:
                return False  # another beat or worker took it, or it was changed
            if found.problem:
                raise MigrationNotAllowed(found.problem)
            started = migration_start(
                customer=schedule.customer,
                items=start_items(found),
                actor=schedule.created_by,
                bulk_run=run,
            )
            MigrationSchedule.objects.filter(pk=schedule.pk).update(
                batch_id=started[0].batch_id, reason=left_out_text(found)
            )
            if run is not None:
                BulkRunCustomer.objects.filter(
                    bulk_run=run, customer_id=schedule.customer_id
                ).update(
                    outcome=BulkCustomerOutcome.STARTED,
                    migrations_started=len(started),
                    reason=left_out_text(found),
                    handled_at=now,
                )
            schedule_audit(
                schedule,
                "schedule.started",
                None,
                None,
                f"Started the scheduled migration of "
                f"{schedule.customer.company_name}: {len(started)} subscription"
                f"{'' if len(started) == 1 else 's'}.",
                migrations=[m.pk for m in started],
            )
        return True
    except (MigrationNotAllowed, MigrationAlreadyRunning) as exc:
        reason = str(exc)
    except Exception:
        logger.exception("Scheduled migration %s could not start", schedule.pk)
        reason = (
            "An unexpected error stopped it; start it from the customer's plan page."
        )
    _record_not_started(schedule, reason, now)
    return False


def _record_not_started(
    schedule: MigrationSchedule, reason: str, now: datetime
) -> None:
    """Mark a due schedule (and its bulk run's row) as not started, with `reason`.

    Does nothing if the schedule left the scheduled state meanwhile.
    """
    run = schedule.bulk_run
    with transaction.atomic():
        failed = MigrationSchedule.objects.filter(
            pk=schedule.pk, state=ScheduleState.SCHEDULED
        ).update(
            state=ScheduleState.NOT_STARTED,
            reason=reason,
            started_at=now,
            updated_at=now,
        )
        if not failed:
            return
        if run is not None:
            BulkRunCustomer.objects.filter(
                bulk_run=run, customer_id=schedule.customer_id
            ).update(
                outcome=BulkCustomerOutcome.NOT_STARTED, reason=reason, handled_at=now
            )
        schedule_audit(
            schedule,
            "schedule.not_started",
            None,
            None,
            f"The scheduled migration of {schedule.customer.company_name} could "
            f"not start: {reason}",
        )


def schedules_start_due(*, now: datetime | None = None) -> list[int]:
    """Start every schedule whose time has come; return those started.

    Safe with two beats or workers: each schedule is claimed by a conditional
    UPDATE in the transaction that starts it.
    """
    moment = now or timezone.now()
    due: Sequence[MigrationSchedule] = list(
        MigrationSchedule.objects.filter(
            state=ScheduleState.SCHEDULED, start_at__lte=moment
        )
        .select_related("customer", "bulk_run", "created_by")
        .order_by("start_at", "pk")[:DUE_LIMIT]
    )
    return [s.pk for s in due if _start_schedule(s, moment)]
