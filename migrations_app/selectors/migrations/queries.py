"""Read queries for migration pages: row summaries, panels, cards and the list."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet

from migrations_app.domain.catalogue import catalogue_index_shared
from migrations_app.domain.plan import (
    MIGRATABLE_STATUSES,
    SkippedSubscription,
    migration_plan,
)
from migrations_app.models import (
    ATTENTION_STATES,
    TERMINAL_STATES,
    Customer,
    LicenseMove,
    Migration,
    MigrationState,
    MigrationTarget,
    Subscription,
)
from migrations_app.selectors.migrations.pages import (
    CustomerPanel,
    MigrationCard,
    MigrationSummary,
)
from migrations_app.workflow import registry


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
    *, customer_ids: Iterable[int], counts_while_running: bool = True
) -> dict[int, MigrationSummary]:
    """Return each customer's migration summary for the customer list, by customer id.

    The query count does not grow with the number of customers. The first customer
    (in the order given) with a running migration hosts the page's single poller.
    Without `counts_while_running` (a poll: a running row shows no counts), the
    retired and migratable counts are left at 0 for customers whose latest batch
    still runs, and not read at all when every batch does.
    """
    ids = list(dict.fromkeys(customer_ids))
    summaries = {cid: MigrationSummary(customer_id=cid) for cid in ids}
    if not ids:
        return summaries
    migrations = with_user_counts(
        Migration.objects.filter(customer_id__in=ids).order_by("-created_at", "-id")
    )
    latest_batch: dict[int, Any] = {}
    for migration in migrations:
        batch_id = latest_batch.setdefault(migration.customer_id, migration.batch_id)
        if migration.batch_id == batch_id:
            summaries[migration.customer_id].batch.append(migration)
    counted = [
        cid
        for cid in ids
        if counts_while_running or not any(m.is_running for m in summaries[cid].batch)
    ]
    _count_retired(summaries, counted)
    poll_ids: list[int] = []
    poll_versions: dict[int, int] = {}
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
                else registry.state_label(first.state)
            )
            poll_ids.extend(m.pk for m in running)
            poll_versions.update((m.pk, m.version) for m in running)
            if host is None:
                host = summary
    for summary in summaries.values():
        summary.poll_ids = poll_ids
        summary.poll_versions = poll_versions
    if host is not None:
        host.hosts_poller = True
    return summaries


def _count_retired(summaries: dict[int, MigrationSummary], ids: list[int]) -> None:
    """Count each customer's retired and migratable subscriptions (two queries)."""
    if not ids:
        return
    index = catalogue_index_shared()
    retired = list(Subscription.objects.filter(index.retired_q(), customer_id__in=ids))
    blocked = _blocked_subscription_ids(s.pk for s in retired)
    for sub in retired:
        summary = summaries[sub.customer_id]
        summary.retired_count += 1
        if sub.status.strip().lower() in MIGRATABLE_STATUSES and sub.pk not in blocked:
            summary.migratable_count += 1


@dataclass(frozen=True)
class MigrationChange:
    """A migration whose version is not the one a page shows."""

    pk: int
    customer_id: int
    version: int
    running: bool


def migration_changes(
    *, known: Mapping[int, int | None], scope: Q | None = None
) -> list[MigrationChange]:
    """Return the migrations of `known` whose version differs from the one given.

    `known` maps each migration id a page shows to the version it shows (None
    when the page does not know it: always reported). `scope` narrows further (a
    batch, a customer). One query, by primary key, whatever the number of ids;
    migrations that do not exist are left out.
    """
    if not known:
        return []
    rows = Migration.objects.filter(pk__in=list(known))
    if scope is not None:
        rows = rows.filter(scope)
    return [
        MigrationChange(pk, customer_id, version, state not in TERMINAL_STATES)
        for pk, customer_id, version, state in rows.order_by("pk").values_list(
            "pk", "customer_id", "version", "state"
        )
        if known[pk] != version
    ]


def customer_ids_of_migrations(*, migration_ids: Iterable[int]) -> list[int]:
    """Return the customers (ids, in first-seen order) of these migrations."""
    rows = Migration.objects.filter(pk__in=list(migration_ids)).order_by("pk")
    return list(dict.fromkeys(rows.values_list("customer_id", flat=True)))


# ---------------------------------------------------------------- panels


def migration_cards(migrations: Sequence[Migration]) -> list[MigrationCard]:
    """Return cards for these migrations (moves and new subscriptions prefetched)."""
    ids = [m.pk for m in migrations]
    moves: dict[int, list[LicenseMove]] = defaultdict(list)
    for move in LicenseMove.objects.filter(migration_id__in=ids).order_by(
        "display_name", "user_principal_name", "pk"
    ):
        moves[move.migration_id].append(move)
    bought: dict[int, list[str]] = defaultdict(list)
    for migration_id, sub_id in (
        MigrationTarget.objects.filter(migration_id__in=ids)
        .exclude(new_subscription_id="")
        .order_by("migration_id", "position")
        .values_list("migration_id", "new_subscription_id")
    ):
        bought[migration_id].append(sub_id)
    for m in migrations:
        if m.new_subscription_id and m.new_subscription_id not in bought[m.pk]:
            bought[m.pk].insert(0, m.new_subscription_id)
    new_ids = [sub_id for ids_ in bought.values() for sub_id in ids_]
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
                new_subscriptions=[
                    new_subs[sub_id]
                    for sub_id in bought[migration.pk]
                    if sub_id in new_subs
                ],
            )
        )
    return cards


def _card_queryset() -> QuerySet[Migration]:
    return Migration.objects.select_related(
        "customer", "source_subscription", "created_by"
    )


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
