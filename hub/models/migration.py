"""A migration moves one retired-SKU subscription of a customer to its target.

The row is the record of truth; Celery only runs its next step.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class MigrationState(models.TextChoices):
    QUEUED = "queued", "Queued"
    PURCHASE = "purchase", "Buying the new subscription"
    AWAIT_PROVISIONING = "await_provisioning", "Waiting for provisioning"
    PREFLIGHT = "preflight", "Checking seats and users"
    MOVE_LICENSES = "move_licenses", "Moving licences"
    VERIFY = "verify", "Verifying licences"
    RETIRE_OLD = "retire_old", "Retiring the old subscription"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    NEEDS_CUSTOMER_ACTION = "needs_customer_action", "Needs customer action"
    CANCELLED = "cancelled", "Cancelled"


# The steps a migration walks through, in order.
STEPS: list[str] = [
    MigrationState.PURCHASE,
    MigrationState.AWAIT_PROVISIONING,
    MigrationState.PREFLIGHT,
    MigrationState.MOVE_LICENSES,
    MigrationState.VERIFY,
    MigrationState.RETIRE_OLD,
]
# States with no further work: polling stops on them.
TERMINAL_STATES: list[str] = [
    MigrationState.COMPLETED,
    MigrationState.FAILED,
    MigrationState.NEEDS_CUSTOMER_ACTION,
    MigrationState.CANCELLED,
]
# States that close a migration for good. A failed one stays open: it may have
# bought something already and can be retried, so no second one may start.
CLOSED_STATES: list[str] = [
    MigrationState.COMPLETED,
    MigrationState.NEEDS_CUSTOMER_ACTION,
    MigrationState.CANCELLED,
]


class RetireMode(models.TextChoices):
    SUSPEND = "suspend", "Suspend now"
    EXPIRE = "expire", "Let it expire at its end date"


class Migration(models.Model):
    """One source subscription's journey to its target SKU."""

    batch_id = models.UUIDField(default=uuid.uuid4, db_index=True)
    customer = models.ForeignKey(
        "hub.Customer", on_delete=models.PROTECT, related_name="migrations"
    )
    source_subscription = models.ForeignKey(
        "hub.Subscription",
        on_delete=models.PROTECT,
        related_name="migrations",
    )
    source_offer_id = models.CharField(max_length=128)
    source_sku_id = models.CharField(max_length=64, blank=True)
    target_offer_id = models.CharField(max_length=128)
    target_offer_name = models.CharField(max_length=255)
    target_sku_id = models.CharField(max_length=64, blank=True)
    quantity = models.PositiveIntegerField()
    retire_mode = models.CharField(
        max_length=16, choices=RetireMode.choices, default=RetireMode.SUSPEND
    )
    state = models.CharField(
        max_length=32,
        choices=MigrationState.choices,
        default=MigrationState.QUEUED,
        db_index=True,
    )
    # The step a failed or cancelled migration stopped at; retry resumes there.
    stopped_step = models.CharField(max_length=32, blank=True)
    # Plain words for the reseller, and Partner Center's own code/description.
    error_message = models.TextField(blank=True)
    error_code = models.CharField(max_length=32, blank=True)
    error_description = models.TextField(blank=True)
    customer_action = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)

    lease_owner = models.CharField(max_length=64, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)

    # Stored before the order is sent and reused on every retry of that write.
    purchase_request_id = models.UUIDField(null=True, blank=True)
    order_id = models.CharField(max_length=128, blank=True)
    new_subscription_id = models.CharField(max_length=64, blank=True)
    retire_request_id = models.UUIDField(null=True, blank=True)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source_subscription"],
                condition=~Q(state__in=CLOSED_STATES),
                name="one_open_migration_per_source_subscription",
            )
        ]
        indexes = [models.Index(fields=["customer", "state"])]

    def __str__(self) -> str:
        return f"Migration {self.pk} of {self.source_subscription_id}"

    @property
    def is_terminal(self) -> bool:
        return self.state in TERMINAL_STATES

    @property
    def steps_done(self) -> int:
        """Return how many of the six steps are behind this migration."""
        if self.state == MigrationState.COMPLETED:
            return len(STEPS)
        stopped = (MigrationState.FAILED, MigrationState.CANCELLED)
        # A failed or cancelled migration records in `stopped_step` where it stopped.
        step = self.stopped_step if self.state in stopped else self.state
        if step in STEPS:
            return STEPS.index(step)
        if self.state == MigrationState.NEEDS_CUSTOMER_ACTION:
            return STEPS.index(MigrationState.RETIRE_OLD)
        if self.state == MigrationState.CANCELLED and (
            self.order_id or self.new_subscription_id
        ):
            return 1
        return 0


class LicenseMove(models.Model):
    """One user's move from the old skuId to the new one."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        MOVED = "moved", "Moved"
        FAILED = "failed", "Failed"

    migration = models.ForeignKey(
        Migration, on_delete=models.CASCADE, related_name="license_moves"
    )
    user_id = models.CharField(max_length=64)
    user_principal_name = models.CharField(max_length=255, blank=True)
    display_name = models.CharField(max_length=255, blank=True)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING
    )
    request_id = models.UUIDField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    error_message = models.TextField(blank=True)
    error_code = models.CharField(max_length=32, blank=True)
    error_description = models.TextField(blank=True)
    moved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["display_name", "user_principal_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["migration", "user_id"], name="license_move_unique_user"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_principal_name or self.user_id}: {self.status}"
