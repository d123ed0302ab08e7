"""Bulk runs and scheduled starts: create them, expand them, start what is due.

Nothing here calls Partner Center. Creating a bulk run writes its rows and sends
one message; the worker then starts (or schedules) each customer with the same
`migration_start` as the plan page, one customer per transaction, so a customer
that cannot start never stops the others. Beat starts due schedules every minute,
claiming each with a conditional UPDATE inside the transaction that starts it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from hub.models import (
    BulkCustomerOutcome,
    BulkRun,
    BulkRunCustomer,
    Customer,
    MigrationSchedule,
    PathChoice,
    RetireChoice,
    ScheduleState,
    StartWhen,
)
from hub.models.audit import audit_record
from hub.models.pc_values import date_text
from hub.services.migrations import (
    MigrationAlreadyRunning,
    MigrationNotAllowed,
    StartItem,
    migration_start,
)
from hub.workflow.bulk import (
    BulkCustomerPlan,
    bulk_customer_plan,
    schedule_start_at,
    when_text,
)
from hub.workflow.catalogue import catalogue_index
from hub.workflow.enqueue import send_on_commit
from hub.workflow.plan import migration_plans

logger = logging.getLogger(__name__)

EXPAND_TASK = "hub.tasks.bulk_run_expand"
# Customers whose plans are built together (a constant number of queries each).
EXPAND_CHUNK = 50
# A bulk run still waiting this long after it was created, and held by no
# worker, lost its message.
EXPAND_PATIENCE = timedelta(minutes=2)
# How long a worker holds a run between two chunks of customers.
EXPAND_LEASE = timedelta(minutes=5)
# Schedules started per look; the rest wait for the next minute.
DUE_LIMIT = 200
MAX_DAYS_BEFORE = 365


class BulkNotAllowed(Exception):
    """The bulk run or schedule change cannot be made; the message says why."""


@dataclass(frozen=True)
class BulkOptions:
    """When a bulk run starts and how its subscriptions move."""

    when: str = StartWhen.NOW
    start_on: datetime | None = None
    days_before: int | None = None
    retire: str = RetireChoice.PLAN
    path: str = PathChoice.SAFEST


def _check(options: BulkOptions, now: datetime) -> None:
    if options.when not in StartWhen.values:
        raise BulkNotAllowed("Choose when the migrations start.")
    if options.retire not in RetireChoice.values:
        raise BulkNotAllowed("Choose how the old subscriptions end.")
    if options.path not in PathChoice.values:
        raise BulkNotAllowed("Choose how the subscriptions move.")
    if options.when == StartWhen.ON_DATE:
        if options.start_on is None:
            raise BulkNotAllowed("Choose the date the migrations start on.")
        if options.start_on <= now:
            raise BulkNotAllowed("The start date must be in the future.")
    if options.when == StartWhen.BEFORE_END and not (
        options.days_before is not None and 0 <= options.days_before <= MAX_DAYS_BEFORE
    ):
        raise BulkNotAllowed(
            f"Choose how many days before the end date: 0 to {MAX_DAYS_BEFORE}."
        )


def bulk_run_create(
    *,
    customers: QuerySet[Customer],
    options: BulkOptions,
    actor: Any,
    filter_query: str = "",
    all_matching: bool = False,
    ip_address: str | None = None,
) -> BulkRun:
    """Create a bulk run of `customers` (resolved now) and send it to a worker.

    Raise BulkNotAllowed if the options are invalid or no customer is chosen.
    """
    now = timezone.now()
    _check(options, now)
    with transaction.atomic():
        ids = list(customers.order_by().values_list("pk", flat=True).distinct())
        if not ids:
            raise BulkNotAllowed("Choose at least one customer.")
        run = BulkRun.objects.create(
            created_by=actor if getattr(actor, "pk", None) else None,
            filter_query=filter_query[:1000],
            all_matching=all_matching,
            when=options.when,
            start_on=options.start_on if options.when == StartWhen.ON_DATE else None,
            days_before=(
                options.days_before if options.when == StartWhen.BEFORE_END else None
            ),
            retire=options.retire,
            path=options.path,
            customers_total=len(ids),
        )
        BulkRunCustomer.objects.bulk_create(
            (BulkRunCustomer(bulk_run=run, customer_id=pk) for pk in ids),
            batch_size=1000,
        )
        starts = when_text(run.when, run.start_on, run.days_before)
        audit_record(
            action="bulk.started",
            actor=actor,
            ip_address=ip_address,
            message=(
                f"Bulk run #{run.pk}: {len(ids)} customer"
                f"{'' if len(ids) == 1 else 's'}, starting {starts}."
            ),
            details={
                "bulk_run": run.pk,
                "customers": len(ids),
                "filter": filter_query if all_matching else "",
                "when": run.when,
                "start_on": run.start_on.isoformat() if run.start_on else None,
                "days_before": run.days_before,
                "retire": run.retire,
                "path": run.path,
            },
        )
        send_on_commit(EXPAND_TASK, run.pk)
    return run


def _start_items(found: BulkCustomerPlan) -> list[StartItem]:
    return [
        StartItem(
            plan=item.plan,
            target=item.target,
            quantity=item.quantity,
            retire_mode=item.retire_mode,
            path=item.path,
        )
        for item in found.startable
        if item.target is not None
    ]


def _left_out_text(found: BulkCustomerPlan) -> str:
    notes = found.left_out
    return ("Left out — " + " ".join(notes)) if notes else ""


def _finish_row(row_id: int, outcome: str, reason: str, now: datetime) -> None:
    BulkRunCustomer.objects.filter(
        pk=row_id, outcome=BulkCustomerOutcome.PENDING
    ).update(outcome=outcome, reason=reason, handled_at=now)


def _expand_one(
    run: BulkRun, row: BulkRunCustomer, found: BulkCustomerPlan, now: datetime
) -> None:
    """Start or schedule one customer of `run`, or record why it cannot."""
    if found.problem:
        _finish_row(row.pk, BulkCustomerOutcome.NOT_STARTED, found.problem, now)
        return
    if run.when == StartWhen.NOW:
        with transaction.atomic():
            claimed = BulkRunCustomer.objects.filter(
                pk=row.pk, outcome=BulkCustomerOutcome.PENDING
            ).update(
                outcome=BulkCustomerOutcome.STARTED,
                handled_at=now,
                reason=_left_out_text(found),
            )
            if not claimed:
                return  # another worker took it
            started = migration_start(
                customer=found.plan.customer,
                items=_start_items(found),
                actor=run.created_by,
                bulk_run=run,
            )
            BulkRunCustomer.objects.filter(pk=row.pk).update(
                migrations_started=len(started)
            )
        return
    at, why = schedule_start_at(
        found,
        when=run.when,
        start_on=run.start_on,
        days_before=run.days_before,
        now=now,
    )
    if at is None:
        _finish_row(row.pk, BulkCustomerOutcome.NOT_STARTED, why, now)
        return
    with transaction.atomic():
        claimed = BulkRunCustomer.objects.filter(
            pk=row.pk, outcome=BulkCustomerOutcome.PENDING
        ).update(
            outcome=BulkCustomerOutcome.SCHEDULED,
            handled_at=now,
            reason=_left_out_text(found),
        )
        if not claimed:
            return
        schedule = MigrationSchedule.objects.create(
            customer=found.plan.customer,
            bulk_run=run,
            when=run.when,
            start_on=run.start_on,
            days_before=run.days_before,
            retire=run.retire,
            path=run.path,
            start_at=at,
            created_by=run.created_by,
        )
        _schedule_audit(
            schedule,
            "schedule.created",
            run.created_by,
            None,
            f"Scheduled the migration of {schedule.customer.company_name} "
            f"for {date_text(at)} at {at:%H:%M} UTC (bulk run #{run.pk}).",
        )


def bulk_run_expand(*, bulk_run_id: int, now: datetime | None = None) -> int:
    """Start or schedule every waiting customer of a bulk run; return how many.

    One worker at a time holds the run (a lease renewed per chunk, so a second
    message does nothing while it works). Each customer is handled in its own
    transaction and claimed by a conditional UPDATE, so no customer starts twice
    and one that fails never stops the others.
    """
    if not _claim_run(bulk_run_id, now or timezone.now()):
        return 0  # another worker is on it
    try:
        return _expand(bulk_run_id, now)
    finally:
        BulkRun.objects.filter(pk=bulk_run_id).update(expanding_until=None)


def _claim_run(bulk_run_id: int, moment: datetime) -> bool:
    """Claim (or renew the claim on) a run for EXPAND_LEASE; return True if held."""
    return bool(
        BulkRun.objects.filter(pk=bulk_run_id)
        .filter(Q(expanding_until__isnull=True) | Q(expanding_until__lte=moment))
        .update(expanding_until=moment + EXPAND_LEASE)
    )


def _expand(bulk_run_id: int, now: datetime | None) -> int:
    run = BulkRun.objects.select_related("created_by").filter(pk=bulk_run_id).first()
    if run is None:
        return 0
    handled = 0
    index = catalogue_index()
    while True:
        rows = list(
            BulkRunCustomer.objects.filter(
                bulk_run=run, outcome=BulkCustomerOutcome.PENDING
            )
            .select_related("customer")
            .order_by("pk")[:EXPAND_CHUNK]
        )
        if not rows:
            return handled
        moment = now or timezone.now()
        BulkRun.objects.filter(pk=run.pk).update(expanding_until=moment + EXPAND_LEASE)
        plans = migration_plans(customers=[r.customer for r in rows], index=index)
        for row in rows:
            found = bulk_customer_plan(
                plans[row.customer_id], when=run.when, retire=run.retire, path=run.path
            )
            try:
                _expand_one(run, row, found, moment)
            except SoftTimeLimitExceeded:
                raise  # the rest waits for the message beat sends again
            except (MigrationNotAllowed, MigrationAlreadyRunning) as exc:
                _finish_row(row.pk, BulkCustomerOutcome.NOT_STARTED, str(exc), moment)
            except IntegrityError:
                _finish_row(
                    row.pk,
                    BulkCustomerOutcome.NOT_STARTED,
                    "A migration of this customer is already scheduled: edit or "
                    "cancel that one first.",
                    moment,
                )
            except Exception:
                logger.exception(
                    "Bulk run %s could not start customer %s", run.pk, row.customer_id
                )
                _finish_row(
                    row.pk,
                    BulkCustomerOutcome.NOT_STARTED,
                    "An unexpected error stopped this customer; the others went on. "
                    "Start it from its plan page.",
                    moment,
                )
            handled += 1


def bulk_runs_resend_waiting(*, now: datetime | None = None) -> list[int]:
    """Send again the message of bulk runs whose customers still wait; return them.

    A run waits that long only when its message was lost (a broker restart).
    """
    moment = now or timezone.now()
    ids = list(
        BulkRun.objects.filter(
            created_at__lte=moment - EXPAND_PATIENCE,
            customer_rows__outcome=BulkCustomerOutcome.PENDING,
        )
        .filter(Q(expanding_until__isnull=True) | Q(expanding_until__lte=moment))
        .values_list("pk", flat=True)
        .distinct()
    )
    for pk in ids:
        send_on_commit(EXPAND_TASK, pk)
    return ids


# ---------------------------------------------------------------- schedules


def _schedule_audit(
    schedule: MigrationSchedule,
    action: str,
    actor: Any,
    ip: str | None,
    message: str,
    **details: Any,
) -> None:
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
        ).update(start_at=start_at, updated_at=moment)
        if not changed:
            raise BulkNotAllowed(
                "This migration is no longer waiting: it started or was cancelled."
            )
        schedule.refresh_from_db()
        _schedule_audit(
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
        _schedule_audit(
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
                items=_start_items(found),
                actor=schedule.created_by,
                bulk_run=run,
            )
            MigrationSchedule.objects.filter(pk=schedule.pk).update(
                batch_id=started[0].batch_id, reason=_left_out_text(found)
            )
            if run is not None:
                BulkRunCustomer.objects.filter(
                    bulk_run=run, customer_id=schedule.customer_id
                ).update(
                    outcome=BulkCustomerOutcome.STARTED,
                    migrations_started=len(started),
                    reason=_left_out_text(found),
                    handled_at=now,
                )
            _schedule_audit(
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
            return False
        if run is not None:
            BulkRunCustomer.objects.filter(
                bulk_run=run, customer_id=schedule.customer_id
            ).update(
                outcome=BulkCustomerOutcome.NOT_STARTED, reason=reason, handled_at=now
            )
        _schedule_audit(
            schedule,
            "schedule.not_started",
            None,
            None,
            f"The scheduled migration of {schedule.customer.company_name} could "
            f"not start: {reason}",
        )
    return False


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
