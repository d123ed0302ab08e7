"""The page objects of migrations: a customer's row summary, cards and the panel."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils import timezone

from migrations_app.domain.plan import SkippedSubscription
from migrations_app.domain.wording import cancellation_summary
from migrations_app.models import (
    Customer,
    LicenseMove,
    Migration,
    MigrationState,
    RetireMode,
    Subscription,
)
from migrations_app.workflow import registry
from migrations_app.workflow.refund import refundable_targets
from migrations_app.workflow.registry import TimelineStep

# A wait shorter than this (a provisioning poll) is not worth showing; one longer
# than RESUMABLE_WAIT (throttling, backoff) gets a "Resume now" button.
SHORT_WAIT = timedelta(seconds=10)
RESUMABLE_WAIT = timedelta(seconds=30)

STATE_TONES: dict[str, str] = {
    MigrationState.COMPLETED: "ok",
    MigrationState.FAILED: "bad",
    MigrationState.NEEDS_CUSTOMER_ACTION: "warn",
    MigrationState.CANCELLED: "muted",
}


def poll_query(versions: dict[int, int]) -> str:
    """Return a poll's `ids` parameter: `id.version` of each migration, by id."""
    return ",".join(f"{pk}.{version}" for pk, version in sorted(versions.items()))


def state_tone(state: str) -> str:
    """Return the pill tone of a migration state (info while running)."""
    return STATE_TONES.get(state, "info")


@dataclass
class MigrationSummary:
    """What the customer list shows in a customer's migration cell."""

    customer_id: int
    retired_count: int = 0
    migratable_count: int = 0
    batch: list[Migration] = field(default_factory=list)
    state: str = ""
    steps_done: int = 0
    steps_total: int = 0
    users_done: int = 0
    users_total: int = 0
    current_step: str = ""
    # Shared by every summary of one page: the running migrations to poll for.
    poll_ids: list[int] = field(default_factory=list)
    # The version of each of them this page shows.
    poll_versions: dict[int, int] = field(default_factory=dict)
    hosts_poller: bool = False

    @property
    def running(self) -> bool:
        return self.state == "running"

    @property
    def has_batch(self) -> bool:
        return bool(self.batch)

    @property
    def running_ids(self) -> list[int]:
        return [m.pk for m in self.batch if m.is_running]

    @property
    def state_label(self) -> str:
        if self.state == "running":
            return "Migrating"
        return registry.state_label(self.state) if self.state else ""

    @property
    def tone(self) -> str:
        return state_tone(self.state)

    @property
    def poll_query(self) -> str:
        """Return the poll's `ids`: each migration with the version shown."""
        return poll_query(self.poll_versions)

    @property
    def outcome_note(self) -> str:
        """Return a few words on how a finished batch left things."""
        if self.state == MigrationState.COMPLETED:
            done = [m for m in self.batch if m.state == MigrationState.COMPLETED]
            if all(m.retire_mode == RetireMode.SUSPEND for m in done):
                retired = "old subscription suspended"
            elif all(m.retire_mode == RetireMode.EXPIRE for m in done):
                retired = "old subscription set to expire"
            else:
                retired = "old subscriptions retired"
            return f"{self.users_done}/{self.users_total} users moved · {retired}"
        if self.state == MigrationState.FAILED:
            failed = next(m for m in self.batch if m.state == MigrationState.FAILED)
            return f"Stopped at: {registry.stopped_at_text(failed)}"
        if self.state == MigrationState.NEEDS_CUSTOMER_ACTION:
            return "The customer must cancel the old subscription"
        return ""


@dataclass
class MigrationCard:
    """One migration as the panels and the detail page show it."""

    migration: Migration
    timeline: list[TimelineStep]
    moves: list[LicenseMove]
    new_subscription: Subscription | None
    # Every subscription the migration bought: one per target of a one-to-many
    # mapping (the first is `new_subscription`).
    new_subscriptions: list[Subscription] = field(default_factory=list)

    @property
    def moved(self) -> list[LicenseMove]:
        return [m for m in self.moves if m.status == LicenseMove.Status.MOVED]

    @property
    def failed_moves(self) -> list[LicenseMove]:
        return [m for m in self.moves if m.status == LicenseMove.Status.FAILED]

    @property
    def moves_with_problems(self) -> list[LicenseMove]:
        return [
            m
            for m in self.moves
            if m.error_message and m.status != LicenseMove.Status.MOVED
        ]

    @property
    def tone(self) -> str:
        return state_tone(self.migration.state)

    @property
    def running(self) -> bool:
        return self.migration.is_running

    @property
    def can_retry(self) -> bool:
        return self.migration.state == MigrationState.FAILED

    @property
    def can_cancel(self) -> bool:
        return self.migration.is_open

    @property
    def can_refund(self) -> bool:
        """Return True if what it bought can still be cancelled for a refund."""
        return bool(refundable_targets(self.migration))

    @property
    def waiting_until(self) -> datetime | None:
        """Return when a waiting migration runs again, if that is worth saying."""
        due = self.migration.next_attempt_at
        if not self.running or due is None:
            return None
        return due if due > timezone.now() + SHORT_WAIT else None

    @property
    def can_resume(self) -> bool:
        """Return True if it waits long (throttled, backing off): offer to go now."""
        due = self.waiting_until
        return due is not None and due > timezone.now() + RESUMABLE_WAIT

    @property
    def progress_percent(self) -> int:
        m = self.migration
        return round(100 * registry.steps_done(m) / len(registry.path_of(m)))

    @property
    def state_text(self) -> str:
        m = self.migration
        if m.state == MigrationState.FAILED and m.stopped_step:
            return f"Failed at: {registry.stopped_at_text(m)}"
        if m.state == MigrationState.QUEUED:
            return "Waiting to start"
        return registry.state_label(m.state)

    @property
    def cancel_summary(self) -> str:
        """Return, for a cancelled migration, exactly what had been done."""
        return cancellation_summary(self.migration, self.moves)


@dataclass
class CustomerPanel:
    customer: Customer
    cards: list[MigrationCard]
    earlier: list[Migration]
    migratable_count: int
    retired_count: int = 0
    # Why no retired-SKU subscription can be migrated now (when none can).
    blocked: list[SkippedSubscription] = field(default_factory=list)

    @property
    def running(self) -> bool:
        return any(card.running for card in self.cards)
