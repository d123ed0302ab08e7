"""Read queries for migration pages: row summaries, plans, panels and the list."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from hub.models import (
    CLOSED_STATES,
    STEPS,
    Customer,
    CustomerUser,
    LicenseMove,
    Migration,
    MigrationState,
    Offer,
    RetireMode,
    SkuMapping,
    Subscription,
    UserLicense,
)
from hub.services.catalog import CatalogueIndex, catalogue_index
from hub.services.pc import is_foreign_subscription

# A wait shorter than this (a provisioning poll) is not worth showing; one longer
# than RESUMABLE_WAIT (throttling, backoff) gets a "Resume now" button.
SHORT_WAIT = timedelta(seconds=10)
RESUMABLE_WAIT = timedelta(seconds=30)
# States in which a worker still has something to do.
RUNNING_STATES: list[str] = [
    MigrationState.QUEUED,
    *STEPS,
]
# States that need a person: shown as cards on the customer page, whatever batch.
ATTENTION_STATES: list[str] = [
    MigrationState.FAILED,
    MigrationState.NEEDS_CUSTOMER_ACTION,
]
# Subscription statuses a migration can start from: the licences still exist.
MIGRATABLE_STATUSES = ("active", "suspended")

STATE_TONES: dict[str, str] = {
    MigrationState.COMPLETED: "ok",
    MigrationState.FAILED: "bad",
    MigrationState.NEEDS_CUSTOMER_ACTION: "warn",
    MigrationState.CANCELLED: "muted",
}

STEP_TITLES: dict[str, str] = {
    MigrationState.PURCHASE: "Buy the new subscription",
    MigrationState.AWAIT_PROVISIONING: "Wait until it is provisioned",
    MigrationState.PREFLIGHT: "Check free seats and usage locations",
    MigrationState.MOVE_LICENSES: "Move every user's licence",
    MigrationState.VERIFY: "Read back every user's licences",
    MigrationState.RETIRE_OLD: "Retire the old subscription",
}


ALREADY_SUSPENDED = "Already suspended — left as it is"


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
        return [m.pk for m in self.batch if m.state in RUNNING_STATES]

    @property
    def state_label(self) -> str:
        if self.state == "running":
            return "Migrating"
        return MigrationState(self.state).label if self.state else ""

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
            step = failed.stopped_step
            where = MigrationState(step).label.lower() if step in STEPS else "a step"
            return f"Stopped at: {where}"
        if self.state == MigrationState.NEEDS_CUSTOMER_ACTION:
            return "The customer must cancel the old subscription"
        return ""


def _batch_state(batch: Sequence[Migration]) -> str:
    states = {m.state for m in batch}
    if states & set(RUNNING_STATES):
        return "running"
    for state in (
        MigrationState.FAILED,
        MigrationState.NEEDS_CUSTOMER_ACTION,
        MigrationState.COMPLETED,
    ):
        if state in states:
            return state
    return MigrationState.CANCELLED


def _retired_subscriptions(
    customer_ids: Sequence[int], index: CatalogueIndex
) -> list[Subscription]:
    ids = index.retired_offer_ids()
    names = [m.retired_name for m in index.mappings if not m.retired_offer_id]
    condition = Q(pk__in=[])
    for offer_id in ids:
        condition |= Q(offer_id__iexact=offer_id)
    if names:
        condition |= Q(offer_name__in=names)
    rows = Subscription.objects.filter(condition, customer_id__in=customer_ids)
    return [s for s in rows if index.mapping_for(s.offer_id, s.offer_name)]


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
    retired = _retired_subscriptions(ids, index)
    blocked = _blocked_subscription_ids(s.pk for s in retired)
    for sub in retired:
        summary = summaries[sub.customer_id]
        summary.retired_count += 1
        if sub.status.lower() in MIGRATABLE_STATUSES and sub.pk not in blocked:
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
        summary.steps_total = len(STEPS) * len(batch)
        summary.steps_done = sum(m.steps_done for m in batch)
        summary.users_total = sum(m.users_total for m in batch)  # type: ignore[attr-defined]
        summary.users_done = sum(m.users_moved for m in batch)  # type: ignore[attr-defined]
        running = [m for m in batch if m.state in RUNNING_STATES]
        if running:
            first = running[0]
            summary.current_step = (
                "Waiting to start"
                if first.state == MigrationState.QUEUED
                else first.get_state_display()
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


# ---------------------------------------------------------------- the plan


@dataclass
class TargetChoice:
    """One target the mapping allows, with the synced offer it is bound to."""

    name: str
    offer: Offer | None

    @property
    def offer_id(self) -> str:
        return self.offer.offer_id if self.offer else ""

    @property
    def value(self) -> str:
        """Return the form value: the offer id, or the name while unbound."""
        return self.offer_id or f"name:{self.name}"

    @property
    def problem(self) -> str:
        if self.offer is None:
            return "not in the synced offer catalogue"
        if not self.offer.is_available_for_purchase:
            return "not available for purchase"
        return ""


@dataclass
class PlanItem:
    """One retired-SKU subscription and how it would move."""

    subscription: Subscription
    mapping: SkuMapping
    source_offer: Offer | None
    source_sku_id: str
    choices: list[TargetChoice]
    users: list[CustomerUser]
    foreign: bool
    # Cancelled or failed migrations of this subscription that bought something.
    bought_before: list[Migration] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"s{self.subscription.pk}"

    def reusable(self, offer_id: str) -> Migration | None:
        """Return the earlier migration whose purchase of `offer_id` can be reused."""
        for earlier in self.bought_before:
            if offer_id and earlier.target_offer_id.lower() == offer_id.lower():
                return earlier
        return None

    @property
    def reuse_notes(self) -> list[str]:
        """Return, per reusable target, what Start will reuse instead of buying."""
        notes = []
        for choice in self.choices:
            earlier = self.reusable(choice.offer_id)
            if earlier is not None:
                notes.append(reuse_text(earlier))
        return notes

    @property
    def default_target(self) -> TargetChoice | None:
        for choice in self.choices:
            if not choice.problem:
                return choice
        return self.choices[0] if self.choices else None

    @property
    def default_quantity(self) -> int:
        return max(self.subscription.quantity, len(self.users), 1)

    @property
    def minimum_quantity(self) -> int:
        return max(len(self.users), 1)

    @property
    def users_without_location(self) -> list[CustomerUser]:
        return [u for u in self.users if not u.usage_location]

    @property
    def end_date(self) -> datetime | None:
        return self.subscription.commitment_end_date

    @property
    def already_suspended(self) -> bool:
        return self.subscription.status.lower() == Subscription.SUSPENDED

    @property
    def retire_choices(self) -> list[tuple[str, str]]:
        if self.already_suspended:
            # Nothing to retire: the migration leaves it as it is.
            return [(RetireMode.EXPIRE, ALREADY_SUSPENDED)]
        end = self.end_date
        expire = (
            f"Let it expire on {end:%b} {end.day}, {end:%Y}"
            if end
            else "Let it expire at its end date"
        )
        return [(RetireMode.SUSPEND, "Suspend now"), (RetireMode.EXPIRE, expire)]

    def choice(self, value: str) -> TargetChoice | None:
        """Return the target choice posted as `value`, or None."""
        for choice in self.choices:
            if value and value in (choice.value, choice.offer_id):
                return choice
        return None

    @property
    def warnings(self) -> list[str]:
        """Return what the operator should know before starting (plain words)."""
        notes: list[str] = []
        sub = self.subscription
        if self.foreign:
            notes.append(
                f"{sub.display_name} was bought through another partner or channel "
                f"(partner {sub.partner_id}). PartnerHub will buy the new subscription "
                "and move the users, but will not touch the old one: "
                f"{sub.customer.company_name} must cancel it through the partner or "
                "channel it was bought from."
            )
        if not self.source_sku_id:
            notes.append(
                "PartnerHub cannot tell which licence this subscription grants "
                "(its offer is not in the synced catalogue), so no user can be moved."
            )
        elif sub.quantity < len(self.users):
            notes.append(
                f"Not enough seats: {len(self.users)} users hold this licence but the "
                f"subscription has {sub.quantity}. The new subscription needs at "
                f"least {len(self.users)}."
            )
        missing = self.users_without_location
        if missing:
            names = ", ".join(u.user_principal_name or u.user_id for u in missing)
            who = "1 user has" if len(missing) == 1 else f"{len(missing)} users have"
            notes.append(
                f"{who} no usage location ({names}). Licences "
                "cannot be assigned to them: set a usage location in the Microsoft "
                "365 admin center before starting, or the migration will stop at the "
                "seat check."
            )
        return notes


def reuse_text(earlier: Migration) -> str:
    """Return the plan's words for a purchase reused from an earlier migration."""
    return (
        f"Reuses the {earlier.target_offer_name} subscription bought by migration "
        f"#{earlier.pk} ({earlier.quantity} seats): nothing new is bought for it."
    )


def reusable_purchases(
    subscriptions: Iterable[Subscription],
) -> dict[int, list[Migration]]:
    """Return, per source subscription pk, ended migrations whose purchase is unused.

    A cancelled or failed migration that bought the new subscription left it active
    and billed; a new migration of the same source to the same offer takes it over
    instead of buying again. Newest first; one already taken over is left out.
    """
    pks = [s.pk for s in subscriptions]
    rows = list(
        Migration.objects.filter(
            source_subscription_id__in=pks,
            state__in=[MigrationState.CANCELLED, MigrationState.FAILED],
        )
        .filter(~Q(order_id="") | ~Q(new_subscription_id=""))
        .order_by("-created_at", "-id")
    )
    if not rows:
        return {}
    holders: dict[tuple[int, str, str], list[int]] = defaultdict(list)
    for source, order, sub, pk in Migration.objects.filter(
        source_subscription_id__in=pks
    ).values_list("source_subscription_id", "order_id", "new_subscription_id", "pk"):
        holders[(source, order.lower(), sub.lower())].append(pk)
    found: dict[int, list[Migration]] = defaultdict(list)
    for row in rows:
        key = (
            row.source_subscription_id,
            row.order_id.lower(),
            row.new_subscription_id.lower(),
        )
        if not any(pk > row.pk for pk in holders[key]):
            found[row.source_subscription_id].append(row)
    return found


@dataclass
class SkippedSubscription:
    subscription: Subscription
    reason: str
    migrating: bool = False
    # The failed migration to open and retry, if that is why it is left out.
    failed: Migration | None = None

    @property
    def key(self) -> str:
        return f"s{self.subscription.pk}"


@dataclass
class Plan:
    customer: Customer
    items: list[PlanItem]
    skipped: list[SkippedSubscription]


def _users_holding(customer: Customer, sku_ids: set[str]) -> dict[str, list[Any]]:
    """Return, per lower-case skuId, the customer's users holding it (synced)."""
    holders: dict[str, list[Any]] = defaultdict(list)
    if not sku_ids:
        return holders
    condition = Q(pk__in=[])
    for sku in sku_ids:
        condition |= Q(sku_id__iexact=sku)
    licences = (
        UserLicense.objects.filter(condition, user__customer=customer)
        .select_related("user")
        .order_by("user__display_name", "user__user_principal_name")
    )
    for licence in licences:
        holders[licence.sku_id.lower()].append(licence.user)
    return holders


def migration_plan(*, customer: Customer) -> Plan:
    """Return the plan preview for every retired-SKU subscription of a customer."""
    index = catalogue_index()
    retired = _retired_subscriptions([customer.pk], index)
    blocked = {
        m.source_subscription_id: m
        for m in Migration.objects.filter(source_subscription__in=retired).exclude(
            state=MigrationState.CANCELLED
        )
    }
    items: list[PlanItem] = []
    skipped: list[SkippedSubscription] = []
    candidates: list[tuple[Subscription, SkuMapping, Offer | None]] = []
    for sub in sorted(retired, key=lambda s: (s.offer_name, s.subscription_id)):
        sub.customer = customer
        existing = blocked.get(sub.pk)
        if existing is not None:
            migrating = existing.state not in CLOSED_STATES
            if existing.state == MigrationState.FAILED:
                step = existing.stopped_step
                where = (
                    MigrationState(step).label.lower() if step in STEPS else "a step"
                )
                reason = (
                    f"Migration #{existing.pk} failed at {where} — open it to retry."
                )
                skipped.append(
                    SkippedSubscription(sub, reason, migrating, failed=existing)
                )
                continue
            reason = (
                "Already migrating."
                if migrating
                else f"Already migrated ({existing.get_state_display().lower()})."
            )
            skipped.append(SkippedSubscription(sub, reason, migrating))
            continue
        if sub.status.lower() not in MIGRATABLE_STATUSES:
            skipped.append(
                SkippedSubscription(
                    sub, f"Its status is {sub.status or 'unknown'}: nothing to move."
                )
            )
            continue
        mapping = index.mapping_for(sub.offer_id, sub.offer_name)
        assert mapping is not None
        candidates.append((sub, mapping, index.offer(sub.offer_id)))
    sku_ids = {
        offer.product_id.lower()
        for _, _, offer in candidates
        if offer and offer.product_id
    }
    holders = _users_holding(customer, sku_ids)
    bought = reusable_purchases(sub for sub, _, _ in candidates)
    for sub, mapping, offer in candidates:
        sku = offer.product_id if offer else ""
        choices = [
            TargetChoice(t.target_name, index.offer(t.target_offer_id, t.target_name))
            for t in mapping.targets.all()
        ]
        items.append(
            PlanItem(
                subscription=sub,
                mapping=mapping,
                source_offer=offer,
                source_sku_id=sku,
                choices=choices,
                users=list(holders.get(sku.lower(), [])) if sku else [],
                foreign=is_foreign_subscription(sub.partner_id),
                bought_before=bought.get(sub.pk, []),
            )
        )
    return Plan(customer=customer, items=items, skipped=skipped)


# ---------------------------------------------------------------- panels


@dataclass
class TimelineStep:
    key: str
    title: str
    status: str  # done, current, failed, action (customer must act), pending
    detail: str = ""


def migration_timeline(migration: Migration) -> list[TimelineStep]:
    """Return the six steps with their status and a line of detail each."""
    done = migration.steps_done
    steps: list[TimelineStep] = []
    for number, key in enumerate(STEPS):
        if number < done:
            status = "done"
        elif number == done and migration.state == MigrationState.FAILED:
            status = "failed"
        elif number == done and migration.state == MigrationState.NEEDS_CUSTOMER_ACTION:
            status = "action"
        elif number == done and migration.state in RUNNING_STATES:
            status = "current"
        else:
            status = "pending"
        steps.append(TimelineStep(key, STEP_TITLES[key], status))
    details = _step_details(migration)
    for step in steps:
        step.detail = details.get(step.key, "")
    return steps


def _step_details(m: Migration) -> dict[str, str]:
    """Return a line per step: what it did once done, what it will do before."""
    done = m.steps_done
    finished = {key for number, key in enumerate(STEPS) if number < done}
    details: dict[str, str] = {}
    if m.order_id:
        details[MigrationState.PURCHASE] = (
            f"Bought {m.quantity} seats of {m.target_offer_name} (order {m.order_id})."
        )
    elif m.purchase_request_id:
        details[MigrationState.PURCHASE] = (
            f"Order for {m.quantity} seats of {m.target_offer_name} sent "
            f"(MS-RequestId {m.purchase_request_id})."
        )
    else:
        details[MigrationState.PURCHASE] = (
            f"Will buy {m.quantity} seats of {m.target_offer_name}."
        )
    if m.new_subscription_id:
        details[MigrationState.AWAIT_PROVISIONING] = (
            f"New subscription {m.new_subscription_id}"
            + (" is active." if MigrationState.AWAIT_PROVISIONING in finished else ".")
        )
    if MigrationState.PREFLIGHT in finished:
        details[MigrationState.PREFLIGHT] = (
            "Enough free seats; every user has a usage location."
        )
    total = getattr(m, "users_total", None)
    moved = getattr(m, "users_moved", None)
    if total is not None:
        users = "user" if total == 1 else "users"
        details[MigrationState.MOVE_LICENSES] = f"{moved} of {total} {users} moved."
    if MigrationState.VERIFY in finished:
        details[MigrationState.VERIFY] = (
            "Every user holds the new licence and none the old one."
        )
    suspend = m.retire_mode == RetireMode.SUSPEND
    if m.state == MigrationState.CANCELLED:
        for key in STEPS:
            if key not in finished and not (
                key == MigrationState.PURCHASE and m.purchase_request_id
            ):
                details[key] = "Not done: migration cancelled."
        return details
    source = m.source_subscription
    if (
        m.state == MigrationState.COMPLETED
        and m.retire_request_id is None
        and (source.status or "").lower() == Subscription.SUSPENDED
        and source.suspended_by_partnerhub_at is None
    ):
        details[MigrationState.RETIRE_OLD] = "Already suspended before the migration."
    elif m.state == MigrationState.COMPLETED:
        details[MigrationState.RETIRE_OLD] = (
            "Suspended."
            if suspend
            else "Auto-renew turned off: it expires at its end date."
        )
    elif m.state == MigrationState.NEEDS_CUSTOMER_ACTION:
        details[MigrationState.RETIRE_OLD] = (
            "Not touched: it belongs to another channel."
        )
    else:
        details[MigrationState.RETIRE_OLD] = (
            "Will suspend it once every user holds the new licence."
            if suspend
            else "Will turn auto-renew off once every user holds the new licence."
        )
    return details


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
        return self.migration.state in RUNNING_STATES

    @property
    def can_retry(self) -> bool:
        return self.migration.state == MigrationState.FAILED

    @property
    def can_cancel(self) -> bool:
        return self.migration.state not in CLOSED_STATES

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
        return round(100 * self.migration.steps_done / len(STEPS))

    @property
    def state_text(self) -> str:
        m = self.migration
        if m.state == MigrationState.FAILED and m.stopped_step:
            return f"Failed at: {MigrationState(m.stopped_step).label.lower()}"
        if m.state == MigrationState.QUEUED:
            return "Waiting to start"
        return m.get_state_display()

    @property
    def cancel_summary(self) -> str:
        """Return, for a cancelled migration, exactly what had been done."""
        return cancellation_summary(self.migration, self.moves)


def cancellation_summary(migration: Migration, moves: Sequence[LicenseMove]) -> str:
    """Return plain words on what a migration bought and moved before it stopped."""
    m = migration
    source = m.source_subscription.display_name
    moved = [mv for mv in moves if mv.status == LicenseMove.Status.MOVED]
    if m.purchase_request_id is None:
        return "Nothing was bought and no licence was moved."
    if m.order_id or m.new_subscription_id:
        bought = (
            f"Bought {m.quantity} seats of {m.target_offer_name}"
            + (
                f" (subscription {m.new_subscription_id})"
                if m.new_subscription_id
                else ""
            )
            + (f", order {m.order_id}" if m.order_id else "")
            + ". "
        )
    else:
        bought = (
            f"An order for {m.quantity} seats of {m.target_offer_name} was sent "
            f"(MS-RequestId {m.purchase_request_id}) but its result was never "
            "confirmed: check the customer's subscriptions in Partner Center. "
        )
    if moved:
        names = ", ".join(mv.user_principal_name or mv.user_id for mv in moved)
        total = "1 user" if len(moves) == 1 else f"{len(moves)} users"
        users = f"{len(moved)} of {total} moved to the new licence: {names}. "
    else:
        users = "No licence was moved. "
    billed = (
        " The new subscription stays active and billed; cancel it in Partner Center "
        "within its cancellation window if it is not needed."
        if m.order_id or m.new_subscription_id
        else ""
    )
    return f"{bought}{users}The old subscription {source} is left untouched.{billed}"


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
        s.subscription_id.lower(): s
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
                timeline=migration_timeline(migration),
                moves=moves[migration.pk],
                new_subscription=new_subs.get(migration.new_subscription_id.lower()),
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
        rows = rows.filter(state__in=RUNNING_STATES)
    elif state in MigrationState.values:
        rows = rows.filter(state=state)
    return rows


def migration_state_counts() -> dict[str, int]:
    """Return how many migrations are in each state, plus "running" (non-terminal)."""
    counts = dict(
        Migration.objects.values_list("state").annotate(n=Count("id")).order_by()
    )
    counts["running"] = sum(counts.get(s, 0) for s in RUNNING_STATES)
    return counts
