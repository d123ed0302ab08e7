"""A bulk run's live page: its counts, one page of its customers, the stamp its
poll compares, and the latest runs."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.core.paginator import Page, Paginator
from django.db.models import (
    Count,
    Exists,
    OuterRef,
    Q,
    Sum,
)

from migrations_app.domain.bulk import when_text
from migrations_app.models import (
    TERMINAL_STATES,
    BulkCustomerOutcome,
    BulkRun,
    BulkRunCustomer,
    Customer,
    Migration,
    MigrationSchedule,
    MigrationState,
    ScheduleState,
)
from migrations_app.workflow import registry

RUN_PAGE_SIZE = 50

WAITING = "waiting"
RUNNING = "running"
DONE = "done"
FAILED = "failed"
NEEDS_ACTION = "needs_action"
CANCELLED = "cancelled"
SCHEDULED = "scheduled"
NOT_STARTED = "not_started"

STATUS_WORDS = {
    WAITING: "Waiting to start",
    RUNNING: "Running",
    DONE: "Done",
    FAILED: "Failed",
    NEEDS_ACTION: "Needs customer action",
    CANCELLED: "Cancelled",
    SCHEDULED: "Scheduled",
    NOT_STARTED: "Could not start",
}
STATUS_TONES = {
    WAITING: "muted",
    RUNNING: "info",
    DONE: "ok",
    FAILED: "bad",
    NEEDS_ACTION: "warn",
    CANCELLED: "muted",
    SCHEDULED: "info",
    NOT_STARTED: "bad",
}


@dataclass
class BulkRow:
    """One customer of a run's page and what became of it."""

    row: BulkRunCustomer
    migrations: list[Migration] = field(default_factory=list)
    schedule: MigrationSchedule | None = None

    @property
    def customer(self) -> Customer:
        return self.row.customer

    @property
    def status(self) -> str:
        outcome = self.row.outcome
        if outcome == BulkCustomerOutcome.PENDING:
            return WAITING
        if outcome == BulkCustomerOutcome.NOT_STARTED:
            return NOT_STARTED
        if outcome == BulkCustomerOutcome.SCHEDULED:
            return SCHEDULED
        states = {m.state for m in self.migrations}
        if any(m.is_running for m in self.migrations):
            return RUNNING
        if MigrationState.FAILED in states:
            return FAILED
        if MigrationState.NEEDS_CUSTOMER_ACTION in states:
            return NEEDS_ACTION
        if MigrationState.COMPLETED in states:
            return DONE
        return CANCELLED if states else WAITING

    @property
    def status_text(self) -> str:
        return STATUS_WORDS[self.status]

    @property
    def tone(self) -> str:
        return STATUS_TONES[self.status]

    @property
    def steps(self) -> tuple[int, int]:
        done = sum(registry.steps_done(m) for m in self.migrations)
        total = sum(len(registry.path_of(m)) for m in self.migrations)
        return done, total

    @property
    def note(self) -> str:
        """Return the line under the status: the reason, the step, or the error."""
        status = self.status
        if status == RUNNING:
            running = [m for m in self.migrations if m.is_running]
            done, total = self.steps
            step = registry.state_label(running[0].state) if running else ""
            if running and running[0].state == MigrationState.QUEUED:
                step = "Waiting for a worker"
            return f"{step} · {done}/{total} steps"
        if status == FAILED:
            failed = [m for m in self.migrations if m.state == MigrationState.FAILED]
            return failed[0].error_message if failed else ""
        if status == NEEDS_ACTION:
            waiting = [
                m
                for m in self.migrations
                if m.state == MigrationState.NEEDS_CUSTOMER_ACTION
            ]
            return waiting[0].customer_action or waiting[0].error_message
        if status == SCHEDULED and self.schedule is not None:
            at = self.schedule.start_at
            return f"Starts {at:%b} {at.day}, {at:%Y} {at:%H:%M} UTC"
        return self.row.reason

    @property
    def left_out(self) -> str:
        """Return what was left out of a started customer, if anything."""
        if self.row.outcome in (
            BulkCustomerOutcome.STARTED,
            BulkCustomerOutcome.SCHEDULED,
        ):
            return self.row.reason
        return ""


@dataclass
class BulkRunPage:
    run: BulkRun
    counts: dict[str, int]
    page: Page
    rows: list[BulkRow]

    @property
    def active(self) -> bool:
        """Return True while something still changes without a person: poll."""
        return bool(self.counts[WAITING] or self.counts[RUNNING])

    @property
    def when_text(self) -> str:
        return when_text(self.run.when, self.run.start_on, self.run.days_before)

    @property
    def finished(self) -> int:
        c = self.counts
        return c[DONE] + c[FAILED] + c[NEEDS_ACTION] + c[CANCELLED] + c[NOT_STARTED]


def _run_counts(run: BulkRun) -> dict[str, int]:
    """Return how many customers of `run` are in each status, in one query."""
    mine = Migration.objects.filter(bulk_run=run, customer=OuterRef("customer_id"))
    running = Exists(mine.exclude(state__in=TERMINAL_STATES))
    failed = Exists(mine.filter(state=MigrationState.FAILED))
    action = Exists(mine.filter(state=MigrationState.NEEDS_CUSTOMER_ACTION))
    completed = Exists(mine.filter(state=MigrationState.COMPLETED))
    started = Q(outcome=BulkCustomerOutcome.STARTED)
    counts = BulkRunCustomer.objects.filter(bulk_run=run).aggregate(
        **{
            WAITING: Count("pk", filter=Q(outcome=BulkCustomerOutcome.PENDING)),
            NOT_STARTED: Count("pk", filter=Q(outcome=BulkCustomerOutcome.NOT_STARTED)),
            SCHEDULED: Count("pk", filter=Q(outcome=BulkCustomerOutcome.SCHEDULED)),
            RUNNING: Count("pk", filter=started & Q(running)),
            FAILED: Count("pk", filter=started & ~Q(running) & Q(failed)),
            NEEDS_ACTION: Count(
                "pk", filter=started & ~Q(running) & ~Q(failed) & Q(action)
            ),
            DONE: Count(
                "pk",
                filter=started & ~Q(running) & ~Q(failed) & ~Q(action) & Q(completed),
            ),
            CANCELLED: Count(
                "pk",
                filter=started & ~Q(running) & ~Q(failed) & ~Q(action) & ~Q(completed),
            ),
        }
    )
    return {key: int(value or 0) for key, value in counts.items()}


def bulk_run_page(*, bulk_run_id: int, page_number: int = 1) -> BulkRunPage | None:
    """Return a bulk run's counts and one page of its customers, or None.

    A constant number of queries, however many customers the run has.
    """
    run = BulkRun.objects.select_related("created_by").filter(pk=bulk_run_id).first()
    if run is None:
        return None
    counts = _run_counts(run)
    rows_qs = (
        BulkRunCustomer.objects.filter(bulk_run=run)
        .select_related("customer")
        .order_by("customer__company_name", "pk")
    )
    paginator = Paginator(rows_qs, RUN_PAGE_SIZE)
    paginator.count = run.customers_total
    page = paginator.get_page(page_number)
    shown: Sequence[BulkRunCustomer] = list(page.object_list)
    ids = [r.customer_id for r in shown]
    migrations: dict[int, list[Migration]] = defaultdict(list)
    for m in Migration.objects.filter(bulk_run=run, customer_id__in=ids).order_by("pk"):
        migrations[m.customer_id].append(m)
    schedules = {
        s.customer_id: s
        for s in MigrationSchedule.objects.filter(
            bulk_run=run, customer_id__in=ids
        ).order_by("pk")
    }
    rows = [
        BulkRow(r, migrations[r.customer_id], schedules.get(r.customer_id))
        for r in shown
    ]
    return BulkRunPage(run=run, counts=counts, page=page, rows=rows)


def bulk_run_stamp(*, bulk_run_id: int) -> str:
    """Return a stamp of everything a bulk run's page shows, for its poll.

    It changes when one of the run's migrations starts, moves on (its version) or
    ends in any state (even by a write that left its version alone), when a
    customer of the run gets a result, and when one of its schedules changes
    state. Three small aggregates, however many customers the run has.
    """
    m = Migration.objects.filter(bulk_run_id=bulk_run_id).aggregate(
        n=Count("pk"),
        v=Sum("version"),
        **{state: Count("pk", filter=Q(state=state)) for state in TERMINAL_STATES},
    )
    outcomes = BulkRunCustomer.objects.filter(bulk_run_id=bulk_run_id).aggregate(
        **{
            outcome: Count("pk", filter=Q(outcome=outcome))
            for outcome in BulkCustomerOutcome.values
        }
    )
    schedules = MigrationSchedule.objects.filter(bulk_run_id=bulk_run_id).aggregate(
        **{state: Count("pk", filter=Q(state=state)) for state in ScheduleState.values}
    )
    parts = [m["n"], m["v"] or 0, *(m[s] for s in TERMINAL_STATES)]
    parts += [outcomes[o] for o in BulkCustomerOutcome.values]
    parts += [schedules[s] for s in ScheduleState.values]
    return ".".join(str(p) for p in parts)


def bulk_runs_recent(*, limit: int = 20) -> list[BulkRun]:
    """Return the latest bulk runs, newest first."""
    return list(BulkRun.objects.select_related("created_by")[:limit])
