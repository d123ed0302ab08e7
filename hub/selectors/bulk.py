"""Read queries for bulk runs: the preview, a run's live page, the schedules.

None of them grows its query count with the customers: totals are computed in
SQL over the whole selection, and only one page of customers gets its plan.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.paginator import Page, Paginator
from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.utils import timezone

from hub.models import (
    TERMINAL_STATES,
    BulkCustomerOutcome,
    BulkRun,
    BulkRunCustomer,
    Customer,
    Migration,
    MigrationSchedule,
    MigrationState,
    ScheduleState,
    Subscription,
    UserLicense,
)
from hub.models.catalog import is_modern_key
from hub.workflow import registry
from hub.workflow.bulk import BulkCustomerPlan, bulk_customer_plan, when_text
from hub.workflow.catalogue import CatalogueIndex, catalogue_index
from hub.workflow.plan import MIGRATABLE_STATUSES, migration_plans

PREVIEW_PAGE_SIZE = 25
RUN_PAGE_SIZE = 50


# ---------------------------------------------------------------- the preview


@dataclass(frozen=True)
class BulkTotals:
    """The whole selection, counted in SQL."""

    customers: int
    subscriptions: int
    seats: int
    users: int
    cannot_start: int

    @property
    def can_start(self) -> int:
        """Return how many of the chosen customers have something to start."""
        return max(self.customers - self.cannot_start, 0)


def _free_retired(index: CatalogueIndex) -> QuerySet[Subscription]:
    """Retired-SKU subscriptions a migration could start from (none open on them)."""
    status = Q()
    for value in MIGRATABLE_STATUSES:
        status |= Q(status__iexact=value)
    return (
        Subscription.objects.filter(index.retired_q())
        .filter(status)
        .exclude(
            Exists(
                Migration.objects.filter(source_subscription=OuterRef("pk")).exclude(
                    state=MigrationState.CANCELLED
                )
            )
        )
    )


def _licence_sku(index: CatalogueIndex) -> Case:
    """Return, as SQL, the Entra skuId a retired subscription's licences carry."""
    whens = []
    for key in index.retired_offer_ids():
        item = index.item(key)
        if item is None or not item.entra_sku_id:
            continue
        if is_modern_key(key):
            product, sku = key.split(":", 1)
            match = Q(product_id=product, sku_id=sku)
        else:
            match = Q(offer_id=key)
        whens.append(When(match, then=Value(item.entra_sku_id)))
    return Case(*whens, default=Value(""), output_field=CharField())


def _startable(index: CatalogueIndex) -> QuerySet[Subscription]:
    """Free retired subscriptions whose licence is known and whose users all have
    a usage location: the ones a bulk run can start."""
    return (
        _free_retired(index)
        .annotate(licence_sku=_licence_sku(index))
        .exclude(licence_sku="")
        .exclude(
            Exists(
                UserLicense.objects.filter(
                    sku_id=OuterRef("licence_sku"),
                    user__customer=OuterRef("customer"),
                    user__usage_location="",
                )
            )
        )
    )


def bulk_preview_totals(
    *, customers: QuerySet[Customer], index: CatalogueIndex
) -> BulkTotals:
    """Return the selection's customers, subscriptions to move, their seats, the
    users holding their licences, and the customers that cannot start at all
    (no GDAP access, or no subscription to move whose licence is known and
    whose users all have a usage location).

    Three queries, however many customers are selected.
    """
    chosen = customers.order_by().values("pk")
    free = _free_retired(index)
    counts = Customer.objects.filter(pk__in=chosen).aggregate(
        customers=Count("pk"),
        cannot=Count(
            "pk",
            filter=~Q(gdap_missing="")
            | ~Q(Exists(_startable(index).filter(customer=OuterRef("pk")))),
        ),
    )
    subs = free.filter(customer__in=chosen).aggregate(
        subscriptions=Count("pk"), seats=Sum("quantity")
    )
    skus = sorted(index.retired_sku_ids())
    users = (
        UserLicense.objects.filter(sku_id__in=skus, user__customer__in=chosen)
        .values("user_id")
        .distinct()
        .count()
        if skus
        else 0
    )
    return BulkTotals(
        customers=int(counts["customers"] or 0),
        subscriptions=int(subs["subscriptions"] or 0),
        seats=int(subs["seats"] or 0),
        users=users,
        cannot_start=int(counts["cannot"] or 0),
    )


@dataclass
class BulkPreview:
    totals: BulkTotals
    page: Page
    rows: list[BulkCustomerPlan]


def bulk_preview(
    *,
    customers: QuerySet[Customer],
    page_number: int,
    when: str,
    retire: str,
    path: str,
) -> BulkPreview:
    """Return the preview of a bulk run over `customers`: totals, and one page of
    customers with what the run would start for each (or why not).

    The query count does not depend on how many customers are selected.
    """
    index = catalogue_index()
    totals = bulk_preview_totals(customers=customers, index=index)
    ordered = Customer.objects.filter(
        pk__in=customers.order_by().values("pk")
    ).order_by("company_name", "pk")
    paginator = Paginator(ordered, PREVIEW_PAGE_SIZE)
    # The paginator counts with one query of its own; the totals know it already.
    paginator.count = totals.customers
    page = paginator.get_page(page_number)
    shown = list(page.object_list)
    plans = migration_plans(customers=shown, index=index)
    rows = [
        bulk_customer_plan(plans[c.pk], when=when, retire=retire, path=path)
        for c in shown
    ]
    return BulkPreview(totals=totals, page=page, rows=rows)


# ---------------------------------------------------------------- a run's page

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
            step = running[0].state_label if running else ""
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


# ---------------------------------------------------------------- schedules


def schedule_list(*, limit: int = 200) -> list[MigrationSchedule]:
    """Return waiting schedules (soonest first) then the latest others."""
    waiting = list(
        MigrationSchedule.objects.filter(state=ScheduleState.SCHEDULED)
        .select_related("customer", "created_by")
        .order_by("start_at", "pk")[:limit]
    )
    others = list(
        MigrationSchedule.objects.exclude(state=ScheduleState.SCHEDULED)
        .select_related("customer", "created_by")
        .order_by("-updated_at", "-pk")[:limit]
    )
    return waiting + others


@dataclass(frozen=True)
class ScheduledSummary:
    """What the desk shows of scheduled migrations."""

    waiting: int
    next_day: int
    soonest: list[MigrationSchedule]


def schedule_summary(
    *, now: datetime | None = None, limit: int = 5
) -> ScheduledSummary:
    """Return how many migrations wait, how many start within a day, the soonest."""
    moment = now or timezone.now()
    waiting = MigrationSchedule.objects.filter(state=ScheduleState.SCHEDULED)
    counts = waiting.aggregate(
        waiting=Count("pk"),
        next_day=Count("pk", filter=Q(start_at__lte=moment + timedelta(days=1))),
    )
    soonest = list(
        waiting.select_related("customer").order_by("start_at", "pk")[:limit]
    )
    return ScheduledSummary(
        waiting=int(counts["waiting"] or 0),
        next_day=int(counts["next_day"] or 0),
        soonest=soonest,
    )


@dataclass(frozen=True)
class CustomerScheduling:
    """What the customer page shows of a customer's scheduled start and bulk run."""

    waiting: MigrationSchedule | None
    bulk_row: BulkRunCustomer | None

    @property
    def when_text(self) -> str:
        """Return the waiting schedule's choice in words ("" without one)."""
        s = self.waiting
        if s is None:
            return ""
        return when_text(s.when, s.start_on, s.days_before)


def customer_scheduling(*, customer: Customer) -> CustomerScheduling:
    """Return the customer's waiting schedule and its latest bulk run's row.

    Two queries, whatever the customer holds.
    """
    waiting = (
        MigrationSchedule.objects.filter(
            customer=customer, state=ScheduleState.SCHEDULED
        )
        .select_related("created_by")
        .first()
    )
    bulk_row = (
        BulkRunCustomer.objects.filter(customer=customer)
        .select_related("bulk_run", "bulk_run__created_by")
        .order_by("-bulk_run__created_at", "-bulk_run_id")
        .first()
    )
    return CustomerScheduling(waiting=waiting, bulk_row=bulk_row)
