"""Bulk runs: create one, expand it customer by customer, send a lost one again.

Creating a bulk run writes its rows and sends one message; the worker then starts
(or schedules) each customer with the same `migration_start` as the plan page, one
customer per transaction, so a customer that cannot start never stops the others.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from migrations_app import task_names
from migrations_app.domain.bulk import (
    BulkCustomerPlan,
    bulk_customer_plan,
    schedule_start_at,
    when_text,
)
from migrations_app.domain.catalogue import catalogue_index
from migrations_app.domain.plan import migration_plans
from migrations_app.models import (
    BulkCustomerOutcome,
    BulkRun,
    BulkRunCustomer,
    Customer,
    MigrationSchedule,
    StartWhen,
)
from migrations_app.models.audit import audit_record
from migrations_app.models.pc_values import date_text
from migrations_app.services.bulk.items import left_out_text, start_items
from migrations_app.services.bulk.options import (
    BulkNotAllowed,
    BulkOptions,
    bulk_options_check,
)
from migrations_app.services.bulk.schedules import schedule_audit
from migrations_app.services.migrations import (
    MigrationAlreadyRunning,
    MigrationNotAllowed,
    migration_start,
)
from migrations_app.workflow.enqueue import send_on_commit

logger = logging.getLogger(__name__)

EXPAND_TASK = task_names.BULK_RUN_EXPAND
# Customers whose plans are built together (a constant number of queries each).
EXPAND_CHUNK = 50
# A bulk run still waiting this long after it was created, and held by no
# worker, lost its message.
EXPAND_PATIENCE = timedelta(minutes=2)
# How long a worker holds a run between two chunks of customers.
EXPAND_LEASE = timedelta(minutes=5)


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
    bulk_options_check(options, now)
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
                reason=left_out_text(found),
            )
            if not claimed:
                return  # another worker took it
            started = migration_start(
                customer=found.plan.customer,
                items=start_items(found),
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
            reason=left_out_text(found),
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
        schedule_audit(
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
