"""Bulk runs (many customers started or scheduled at once) and scheduled starts.

A bulk run records who chose which customers and how; each chosen customer gets a
row that says what became of it. A scheduled start waits in the database until
beat starts it: no Celery ETA holds it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from migrations_app.models.migration import MigrationPath


class StartWhen(models.TextChoices):
    """When the migrations of a bulk run or a schedule start."""

    NOW = "now", "Now"
    ON_DATE = "on_date", "On a date"
    BEFORE_END = "before_end", "Days before the end date"
    # New commerce: the change at renewal (`scheduledNextTermInstructions`).
    AT_RENEWAL = "at_renewal", "At renewal (new commerce)"


class RetireChoice(models.TextChoices):
    """How the old subscriptions of a bulk run end."""

    # The plan's first choice for each subscription: the cheapest safe one.
    PLAN = "plan", "The plan's default for each subscription"
    EXPIRE = "expire", "Let every old subscription expire at its end date"


class PathChoice(models.TextChoices):
    """Which path the subscriptions of a bulk run walk."""

    SAFEST = "safest", "The safest path Partner Center offers for each"
    # The buy path for every subscription (see MigrationPath.BUY).
    BUY = MigrationPath.BUY.value, "Always buy, move users, retire"


class BulkRun(models.Model):
    """One operator's start (or schedule) of migrations for many customers."""

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # The customer list's filter as a query string when "all matching" was
    # chosen (resolved again when the run was created), else "".
    filter_query = models.CharField(max_length=1000, blank=True)
    all_matching = models.BooleanField(default=False)
    when = models.CharField(
        max_length=16, choices=StartWhen.choices, default=StartWhen.NOW
    )
    start_on = models.DateTimeField(null=True, blank=True)
    days_before = models.PositiveSmallIntegerField(null=True, blank=True)
    retire = models.CharField(
        max_length=16, choices=RetireChoice.choices, default=RetireChoice.PLAN
    )
    path = models.CharField(
        max_length=16, choices=PathChoice.choices, default=PathChoice.SAFEST
    )
    customers_total = models.PositiveIntegerField(default=0)
    # A worker's claim while it starts the run's customers; renewed as it goes.
    expanding_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Bulk run {self.pk}"


class BulkCustomerOutcome(models.TextChoices):
    PENDING = "pending", "Waiting to start"
    STARTED = "started", "Started"
    SCHEDULED = "scheduled", "Scheduled"
    NOT_STARTED = "not_started", "Could not start"


class BulkRunCustomer(models.Model):
    """One customer of a bulk run: what starting it gave, and why not."""

    bulk_run = models.ForeignKey(
        BulkRun, on_delete=models.CASCADE, related_name="customer_rows"
    )
    customer = models.ForeignKey(
        "migrations_app.Customer", on_delete=models.CASCADE, related_name="+"
    )
    outcome = models.CharField(
        max_length=16,
        choices=BulkCustomerOutcome.choices,
        default=BulkCustomerOutcome.PENDING,
        db_index=True,
    )
    reason = models.TextField(blank=True)
    handled_at = models.DateTimeField(null=True, blank=True)
    migrations_started = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["bulk_run", "customer__company_name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["bulk_run", "customer"], name="bulk_run_customer_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} in bulk run {self.bulk_run_id}: {self.outcome}"


class ScheduleState(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    STARTED = "started", "Started"
    CANCELLED = "cancelled", "Cancelled"
    NOT_STARTED = "not_started", "Could not start"


class MigrationSchedule(models.Model):
    """A customer's migration to start later; beat starts it when `start_at` passes."""

    customer = models.ForeignKey(
        "migrations_app.Customer",
        on_delete=models.CASCADE,
        related_name="migration_schedules",
    )
    bulk_run = models.ForeignKey(
        BulkRun,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="schedules",
    )
    when = models.CharField(max_length=16, choices=StartWhen.choices)
    start_on = models.DateTimeField(null=True, blank=True)
    days_before = models.PositiveSmallIntegerField(null=True, blank=True)
    retire = models.CharField(
        max_length=16, choices=RetireChoice.choices, default=RetireChoice.PLAN
    )
    path = models.CharField(
        max_length=16, choices=PathChoice.choices, default=PathChoice.SAFEST
    )
    # When beat starts it, computed from the choice above.
    start_at = models.DateTimeField(db_index=True)
    state = models.CharField(
        max_length=16,
        choices=ScheduleState.choices,
        default=ScheduleState.SCHEDULED,
        db_index=True,
    )
    reason = models.TextField(blank=True)
    batch_id = models.UUIDField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["start_at", "pk"]
        constraints = [
            # One waiting schedule per customer: two would start it twice.
            models.UniqueConstraint(
                fields=["customer"],
                condition=Q(state="scheduled"),
                name="one_waiting_schedule_per_customer",
            )
        ]

    def __str__(self) -> str:
        return f"Schedule {self.pk} of {self.customer_id} at {self.start_at}"

    @property
    def is_waiting(self) -> bool:
        return self.state == ScheduleState.SCHEDULED
