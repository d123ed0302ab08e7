"""Read queries for migration pages: row summaries, panels, cards and the list."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from hub.models import (
    ATTENTION_STATES,
    TERMINAL_STATES,
    Customer,
    LicenseMove,
    Migration,
    MigrationState,
    RetireMode,
    Subscription,
    state_label,
)
from hub.workflow import registry
from hub.workflow.catalogue import catalogue_index
from hub.workflow.plan import MIGRATABLE_STATUSES, SkippedSubscription, migration_plan
from hub.workflow.refund import refundable_targets
from hub.workflow.registry import TimelineStep
from hub.workflow.wording import cancellation_summary

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


def state_tone(state: str) -> str:
    """Return the pill tone of a migration state (info while running)."""
    return STATE_TONES.get(state, "info")


def with_user_counts(queryset: QuerySet[Migration]) -> QuerySet[Migration]:
    """Annotate `users_total` and `users_moved` (licence moves) on each migration."""
    return queryset.annotate(
        users_total=Count("license_moves", distinct=True),
        users_moved=Count(
            "license_moves",
            filter=Q(license_moves__status=LicenseMove.Status.MOVED),
            distinct=True,
        ),
    )


# ---------------------------------------------------------------- customer rows


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
        return state_label(self.state) if self.state else ""

    @property
    def tone(self) -> str:
        return state_tone(self.state)

    @property
    def poll_query(self) -> str:
        return ",".join(str(i) for i in self.poll_ids)

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


def _batch_state(batch: Sequence[Migration]) -> str:
    if any(m.is_running for m in batch):
        return "running"
    states = {m.state for m in batch}
    for state in (
        MigrationState.FAILED,
        MigrationState.NEEDS_CUSTOMER_ACTION,
        MigrationState.COMPLETED,
    ):
        if state in states:
            return state
    return MigrationState.CANCELLED


def _blocked_subscription_ids(subscription_ids: Iterable[int]) -> set[int]:
    """Return subscriptions that are being, or have been, migrated (not cancelled)."""
    return set(
        Migration.objects.filter(source_subscription_id__in=list(subscription_ids))
        .exclude(state=MigrationState.CANCELLED)
        .values_list("source_subscription_id", flat=True)
    )


def customer_migration_summaries(
    *, customer_ids: Iterable[int]
) -> dict[int, MigrationSummary]:
    """Return each customer's migration summary for the customer list, by customer id.

    The query count does not grow with the number of customers. The first customer
    (in the order given) with a running migration hosts the page's single poller.
    """
    ids = list(dict.fromkeys(customer_ids))
    summaries = {cid: MigrationSummary(customer_id=cid) for cid in ids}
    if not ids:
        return summaries
    index = catalogue_index()
    retired = list(Subscription.objects.filter(index.retired_q(), customer_id__in=ids))
    blocked = _blocked_subscription_ids(s.pk for s in retired)
    for sub in retired:
        summary = summaries[sub.customer_id]
        summary.retired_count += 1
        if sub.status.strip().lower() in MIGRATABLE_STATUSES and sub.pk not in blocked:
            summary.migratable_count += 1
    migrations = with_user_counts(
        Migration.objects.filter(customer_id__in=ids).order_by("-created_at", "-id")
    )
    latest_batch: dict[int, Any] = {}
    for migration in migrations:
        batch_id = latest_batch.setdefault(migration.customer_id, migration.batch_id)
        if migration.batch_id == batch_id:
            summaries[migration.customer_id].batch.append(migration)
    poll_ids: list[int] = []
    host: MigrationSummary | None = None
    for cid in ids:
        summary = summaries[cid]
        batch = sorted(summary.batch, key=lambda m: m.pk)
        summary.batch = batch
        if not batch:
            continue
        summary.state = _batch_state(batch)
        summary.steps_total = sum(len(registry.path_of(m)) for m in batch)
        summary.steps_done = sum(registry.steps_done(m) for m in batch)
        summary.users_total = sum(m.users_total for m in batch)  # type: ignore[attr-defined]
        summary.users_done = sum(m.users_moved for m in batch)  # type: ignore[attr-defined]
        running = [m for m in batch if m.is_running]
        if running:
            first = running[0]
            summary.current_step = (
                "Waiting to start"
                if first.state == MigrationState.QUEUED
                else first.state_label
            )
            poll_ids.extend(m.pk for m in running)
            if host is None:
                host = summary
    for summary in summaries.values():
        summary.poll_ids = poll_ids
    if host is not None:
        host.hosts_poller = True
    return summaries


def customer_ids_of_migrations(*, migration_ids: Iterable[int]) -> list[int]:
    """Return the customers (ids, in first-seen order) of these migrations."""
    rows = Migration.objects.filter(pk__in=list(migration_ids)).order_by("pk")
    return list(dict.fromkeys(rows.values_list("customer_id", flat=True)))


# ---------------------------------------------------------------- panels


@dataclass
class MigrationCard:
    """One migration as the panels and the detail page show it."""

    migration: Migration
    timeline: list[TimelineStep]
    moves: list[LicenseMove]
    new_subscription: Subscription | None

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
        return m.state_label

    @property
    def cancel_summary(self) -> str:
        """Return, for a cancelled migration, exactly what had been done."""
        return cancellation_summary(self.migration, self.moves)


def migration_cards(migrations: Sequence[Migration]) -> list[MigrationCard]:
    """Return cards for these migrations (moves and new subscriptions prefetched)."""
    ids = [m.pk for m in migrations]
    moves: dict[int, list[LicenseMove]] = defaultdict(list)
    for move in LicenseMove.objects.filter(migration_id__in=ids).order_by(
        "display_name", "user_principal_name", "pk"
    ):
        moves[move.migration_id].append(move)
    new_ids = [m.new_subscription_id for m in migrations if m.new_subscription_id]
    new_subs = {
        s.subscription_id: s
        for s in Subscription.objects.filter(subscription_id__in=new_ids)
    }
    cards = []
    for migration in migrations:
        migration.users_total = len(moves[migration.pk])  # type: ignore[attr-defined]
        migration.users_moved = sum(  # type: ignore[attr-defined]
            1 for mv in moves[migration.pk] if mv.status == LicenseMove.Status.MOVED
        )
        cards.append(
            MigrationCard(
                migration=migration,
                timeline=registry.timeline(migration),
                moves=moves[migration.pk],
                new_subscription=new_subs.get(migration.new_subscription_id),
            )
        )
    return cards


def _card_queryset() -> QuerySet[Migration]:
    return Migration.objects.select_related(
        "customer", "source_subscription", "created_by"
    )


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


def customer_panel(*, customer: Customer, earlier_limit: int = 10) -> CustomerPanel:
    """Return the customer's latest migration batch as cards, and earlier ones."""
    latest = (
        Migration.objects.filter(customer=customer)
        .order_by("-created_at", "-id")
        .values_list("batch_id", flat=True)
        .first()
    )
    cards: list[MigrationCard] = []
    earlier: list[Migration] = []
    if latest is not None:
        batch = list(_card_queryset().filter(batch_id=latest).order_by("pk"))
        # Failed and needs-action migrations of earlier batches stay in view.
        open_earlier = list(
            _card_queryset()
            .filter(customer=customer, state__in=ATTENTION_STATES)
            .exclude(batch_id=latest)
            .order_by("-created_at", "-id")
        )
        cards = migration_cards(batch + open_earlier)
        earlier = list(
            _card_queryset()
            .filter(customer=customer)
            .exclude(batch_id=latest)
            .exclude(state__in=ATTENTION_STATES)
            .order_by("-created_at", "-id")[:earlier_limit]
        )
    summary = customer_migration_summaries(customer_ids=[customer.pk])[customer.pk]
    blocked: list[SkippedSubscription] = []
    if summary.retired_count and not summary.migratable_count:
        blocked = migration_plan(customer=customer).skipped
    return CustomerPanel(
        customer=customer,
        cards=cards,
        earlier=earlier,
        migratable_count=summary.migratable_count,
        retired_count=summary.retired_count,
        blocked=blocked,
    )


def migration_card(*, migration_id: int) -> MigrationCard | None:
    """Return the card of one migration, or None if there is no such migration."""
    migration = _card_queryset().filter(pk=migration_id).first()
    if migration is None:
        return None
    return migration_cards([migration])[0]


# ---------------------------------------------------------------- list


def migration_list(*, state: str = "") -> QuerySet[Migration]:
    """Return migrations newest first, optionally only those in `state`.

    `state` may be a MigrationState value or "running" (every non-terminal state).
    """
    rows = with_user_counts(
        Migration.objects.select_related(
            "customer", "source_subscription", "created_by"
        ).order_by("-created_at", "-id")
    )
    if state == "running":
        rows = rows.exclude(state__in=TERMINAL_STATES)
    elif state in MigrationState.values:
        rows = rows.filter(state=state)
    return rows


def migration_state_counts() -> dict[str, int]:
    """Return how many migrations are in each state, plus "running" (non-terminal)."""
    counts = dict(
        Migration.objects.values_list("state").annotate(n=Count("id")).order_by()
    )
    counts["running"] = sum(n for s, n in counts.items() if s not in TERMINAL_STATES)
    return counts
