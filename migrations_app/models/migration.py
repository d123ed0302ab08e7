"""A migration moves one retired-SKU subscription of a customer to its target.

The row is the record of truth; Celery only runs its next step.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models
from django.db.models import Case, F, Q, When
from django.utils import timezone

if TYPE_CHECKING:
    from migrations_app.models.subscription import Subscription


class MigrationState(models.TextChoices):
    """The lifecycle states every path shares; a step's own state is its key.

    While a step runs, `Migration.state` holds that step's key (see
    `migrations_app.workflow.registry`, which registers each key and label here).
    """

    QUEUED = "queued", "Queued"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    NEEDS_CUSTOMER_ACTION = "needs_customer_action", "Needs customer action"
    CANCELLED = "cancelled", "Cancelled"


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
# States whose purchase a new migration of the same source may take over.
HANDED_OVER_STATES: list[str] = [
    MigrationState.CANCELLED,
    MigrationState.FAILED,
]
# States that need a person: shown as cards on the customer page, whatever batch.
ATTENTION_STATES: list[str] = [
    MigrationState.FAILED,
    MigrationState.NEEDS_CUSTOMER_ACTION,
]


class MigrationPath(models.TextChoices):
    """The sequences of steps a migration can walk, safest first.

    The one list of paths: `Migration.path` takes its choices from it, the step
    registry keys its paths by it, bulk runs and the plan choose among it, and
    the provisioning check constraint names its value.
    """

    # Microsoft's own paths, which carry the users along: a transition now, or a
    # change of SKU at the next renewal. Both end the old subscription themselves.
    TRANSITION = "transition", "Transition"
    SCHEDULED = "scheduled", "Change at renewal"
    BUY = "buy", "Buy, move, retire"
    # Buys, for a customer that joined through an invitation, the same SKU it
    # holds through another channel: no source subscription, no licence moves.
    PROVISION = "provision", "Buy again in CSP"


class RetireMode(models.TextChoices):
    SUSPEND = "suspend", "Suspend now"
    EXPIRE = "expire", "Let it expire at its end date"
    # New commerce, inside the cancellation window: a prorated refund.
    CANCEL = "cancel", "Cancel now for a refund"


class MigrationQuerySet(models.QuerySet["Migration"]):
    """The sets of migrations the worker, beat and the pages ask for."""

    def running(self) -> MigrationQuerySet:
        """Return migrations a worker still has something to do for."""
        return self.exclude(state__in=TERMINAL_STATES)

    def open(self) -> MigrationQuerySet:
        """Return migrations that block another one of the same source."""
        return self.exclude(state__in=CLOSED_STATES)

    def unleased(self, now: datetime) -> MigrationQuerySet:
        """Return migrations no worker holds right now (no lease, or it expired)."""
        return self.filter(
            Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now)
        )

    def claimable(self, now: datetime) -> MigrationQuerySet:
        """Return running, unleased migrations whose next attempt is due."""
        return (
            self.running()
            .unleased(now)
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        )

    def due(self, now: datetime, stale_after: timedelta) -> MigrationQuerySet:
        """Return running migrations whose message must be sent again.

        Their lease expired (a worker died), or they hold no lease and their
        message looks lost (e.g. a broker restart): their next attempt time
        passed, or nobody touched them for `stale_after`, and no message sent
        for them became due within the last `stale_after`. Staleness counts from
        when the last message was due, so a message merely waiting in the queue,
        or whose countdown just ended, is not sent twice.
        """
        quiet = now - stale_after
        no_recent_message = Q(enqueued_at__isnull=True) | Q(enqueued_at__lte=quiet)
        return self.running().filter(
            Q(lease_expires_at__lte=now)
            | (
                Q(lease_expires_at__isnull=True, next_attempt_at__lte=now)
                & no_recent_message
            )
            | (
                Q(
                    lease_expires_at__isnull=True,
                    next_attempt_at__isnull=True,
                    updated_at__lte=quiet,
                )
                & no_recent_message
            )
        )

    # State changes. Each is one conditional UPDATE on the rows of this queryset
    # (filter it to one migration first) and returns how many rows it changed:
    # 0 means the condition no longer held (another worker, a cancel, a retry).

    def change(self, *, now: datetime | None = None, **fields: Any) -> int:
        """Write `fields` and move `version` on, so polling pages see the change."""
        return self.update(
            updated_at=now or timezone.now(), version=F("version") + 1, **fields
        )

    def held_by(self, owner: str) -> MigrationQuerySet:
        """Return the migrations whose lease `owner` holds."""
        return self.filter(lease_owner=owner)

    def take_lease(self, owner: str, seconds: float) -> int:
        """Lease the claimable migrations to `owner` for `seconds`.

        A claim changes nothing a page shows, so `version` stays.
        """
        now = timezone.now()
        return self.claimable(now).update(
            lease_owner=owner,
            lease_expires_at=now + timedelta(seconds=seconds),
            updated_at=now,
        )

    def change_and_release(self, *, now: datetime | None = None, **fields: Any) -> int:
        """Write `fields`, move `version` on and drop the lease."""
        return self.change(now=now, lease_owner="", lease_expires_at=None, **fields)

    def restart_failed(self, step: str) -> int:
        """Put failed migrations back at `step` with a fresh attempt count."""
        return self.filter(state=MigrationState.FAILED).change_and_release(
            state=step,
            stopped_step="",
            attempts=0,
            next_attempt_at=None,
            finished_at=None,
            error_message="",
            error_code="",
            error_description="",
        )

    def resume_now(self) -> int:
        """Make the next step of running, unleased migrations due at once."""
        return (
            self.running()
            .unleased(timezone.now())
            .change_and_release(next_attempt_at=None)
        )

    def cancel(self) -> int:
        """Close open, unleased migrations as cancelled, noting where they stopped."""
        now = timezone.now()
        return (
            self.open()
            .unleased(now)
            .change_and_release(
                # Where it stopped, so its page shows the steps that were done.
                stopped_step=Case(
                    When(state=MigrationState.FAILED, then=F("stopped_step")),
                    default=F("state"),
                ),
                state=MigrationState.CANCELLED,
                next_attempt_at=None,
                finished_at=now,
                now=now,
            )
        )

    def touch_for_resend(self) -> int:
        """Mark running, unleased migrations as just re-sent.

        Nothing a page shows changes, so `version` stays; the fresh `updated_at`
        keeps the next beat tick from sending them again at once.
        """
        now = timezone.now()
        return (
            self.running()
            .unleased(now)
            .update(
                lease_owner="",
                lease_expires_at=None,
                next_attempt_at=None,
                updated_at=now,
            )
        )


class Migration(models.Model):
    """One source subscription's journey to its target SKU."""

    batch_id = models.UUIDField(default=uuid.uuid4, db_index=True)
    # The bulk run that started it, if it was started with other customers.
    bulk_run = models.ForeignKey(
        "migrations_app.BulkRun",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="migrations",
    )
    customer = models.ForeignKey(
        "migrations_app.Customer", on_delete=models.PROTECT, related_name="migrations"
    )
    # None only for provisioning: the licences come from another channel, which
    # this partner's subscription list never shows.
    source_subscription = models.ForeignKey(
        "migrations_app.Subscription",
        on_delete=models.PROTECT,
        related_name="migrations",
        null=True,
        blank=True,
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
    # Which sequence of steps this migration walks (see migrations_app.workflow.registry).
    path = models.CharField(
        max_length=16, choices=MigrationPath.choices, default=MigrationPath.BUY
    )
    # Queued, a step key of its path, or one of the ends. The words for each are
    # the registry's (`migrations_app.workflow.registry.state_label`): steps come
    # and go with the engine, so the schema lists no choices.
    state = models.CharField(
        max_length=32,
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
    # Goes up by one with every change a page shows (state, step, users moved,
    # errors), so a poll can answer with only the rows that changed.
    version = models.PositiveBigIntegerField(default=0, db_default=0)

    lease_owner = models.CharField(max_length=64, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # When the last message sent for this migration becomes due (sent + its
    # countdown): beat re-sends only what stays unclaimed well after that.
    enqueued_at = models.DateTimeField(null=True, blank=True)

    # New commerce: the term and billing cycle bought, and the cart checked out.
    term_duration = models.CharField(max_length=16, blank=True)
    billing_cycle = models.CharField(max_length=32, blank=True)
    cart_id = models.CharField(max_length=64, blank=True)
    # Stored before the order (or checkout) is sent and reused on every retry.
    purchase_request_id = models.UUIDField(null=True, blank=True)
    # When the buying write (order or checkout) was last sent, stored before
    # sending: no read can prove it absent until Partner Center's listing delay
    # has passed since. Which send it is: 0 sends purchase_request_id itself, a
    # later one (after the previous was proven not applied) a request id made
    # from it, so a de-duplicating service never replays an old refusal.
    purchase_sent_at = models.DateTimeField(null=True, blank=True)
    purchase_attempt = models.PositiveSmallIntegerField(default=0)
    # Order ids are stored exactly as Partner Center gave them (case kept).
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

    objects = MigrationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source_subscription"],
                condition=~Q(state__in=CLOSED_STATES),
                name="one_open_migration_per_source_subscription",
            ),
            # Provisioning has no source subscription: one open provisioning per
            # customer and Entra skuId instead.
            models.UniqueConstraint(
                fields=["customer", "source_sku_id"],
                condition=Q(source_subscription__isnull=True)
                & ~Q(state__in=CLOSED_STATES),
                name="one_open_provisioning_per_customer_sku",
            ),
            models.CheckConstraint(
                condition=Q(source_subscription__isnull=False)
                | (Q(path=MigrationPath.PROVISION) & ~Q(source_sku_id="")),
                name="only_provisioning_has_no_source_subscription",
            ),
            # One order belongs to at most one live migration. A cancelled or
            # failed one may hand its purchase over to a new migration.
            models.UniqueConstraint(
                fields=["order_id"],
                condition=~Q(order_id="") & ~Q(state__in=HANDED_OVER_STATES),
                name="one_live_migration_per_order",
            ),
        ]
        indexes = [models.Index(fields=["customer", "state"])]

    def __str__(self) -> str:
        if self.source_subscription_id is None:
            return f"Migration {self.pk} provisioning {self.source_sku_id}"
        return f"Migration {self.pk} of {self.source_subscription_id}"

    @property
    def is_provisioning(self) -> bool:
        """Return True for a purchase of licences held through another channel."""
        return self.source_subscription_id is None

    @property
    def source(self) -> Subscription:
        """Return the old subscription of a path that has one.

        Raise ValueError for provisioning, which has none (steps of the other
        paths only run for migrations that have one).
        """
        if self.source_subscription is None:
            raise ValueError(f"Migration {self.pk} has no source subscription")
        return self.source_subscription

    @property
    def source_name(self) -> str:
        """Return what is moved from, in words: the old subscription's name, or
        the licences held through another channel that provisioning replaces."""
        if self.source_subscription is None:
            return f"{self.target_offer_name} bought through another channel"
        return self.source_subscription.display_name

    @property
    def source_subscription_code(self) -> str:
        """Return the old subscription's Partner Center id ("" for provisioning)."""
        if self.source_subscription is None:
            return ""
        return self.source_subscription.subscription_id

    @property
    def is_running(self) -> bool:
        return self.state not in TERMINAL_STATES

    @property
    def is_open(self) -> bool:
        return self.state not in CLOSED_STATES

    @property
    def bought(self) -> bool:
        """Return True once the new subscription's order is known to exist."""
        return bool(self.order_id or self.new_subscription_id)

    def purchase_handover(self) -> dict[str, Any]:
        """Return the fields a new migration takes over from this one's purchase.

        The purchase is (or may be) active and billed: the new migration adopts it,
        with its request id, instead of buying again.
        """
        return {
            "quantity": self.quantity,
            "order_id": self.order_id,
            "new_subscription_id": self.new_subscription_id,
            "purchase_request_id": self.purchase_request_id,
            "purchase_sent_at": self.purchase_sent_at,
            "purchase_attempt": self.purchase_attempt,
            "cart_id": self.cart_id,
            "term_duration": self.term_duration,
            "billing_cycle": self.billing_cycle,
        }

    @property
    def is_terminal(self) -> bool:
        return self.state in TERMINAL_STATES
