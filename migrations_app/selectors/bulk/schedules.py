"""Scheduled migrations: the list, the desk's summary, and a customer's own."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import (
    Count,
    Q,
)
from django.utils import timezone

from migrations_app.domain.bulk import when_text
from migrations_app.models import (
    BulkRunCustomer,
    Customer,
    MigrationSchedule,
    ScheduleState,
)


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
