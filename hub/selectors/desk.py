"""Read queries for the renewal desk (`/`): what needs a decision first, across
all customers.

Each kind of row is one queryset function here; the desk counts it and lists the
soonest, and the customer list filters customers by the same function (see
`hub.selectors.customers`), so a tile's number and the list it links to always
agree. No function here grows its query count with the customers.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import TruncWeek
from django.utils import timezone

from hub.models import (
    ATTENTION_STATES,
    TERMINAL_STATES,
    Customer,
    Migration,
    MigrationState,
    Offer,
    SubscribedSku,
    Subscription,
)
from hub.models.catalog import ProductSku
from hub.models.partner import NCE_PRODUCT_TYPE, SUSPENSION_DEPROVISION_DAYS
from hub.workflow.catalogue import CatalogueIndex, catalogue_index
from hub.workflow.plan import MIGRATABLE_STATUSES

# Only these terms commit the customer for another term at their anniversary;
# monthly roll-overs renew every month and are not a decision.
RENEWAL_TERMS = ("P1Y", "P3Y")
RENEWAL_WINDOWS = (7, 30, 60, 90)
CHART_WEEKS = 26
# The desk lists this many rows per section, soonest first; the tile links to all.
ROW_LIMIT = 25
EXPORT_CHUNK = 500

TO_MIGRATE = "to_migrate"
IN_PROGRESS = "in_progress"
DONE = "done"
NEEDS_ACTION = "needs_action"
RETIRED_STATES: dict[str, str] = {
    TO_MIGRATE: "Left to migrate",
    IN_PROGRESS: "In progress",
    DONE: "Done",
    NEEDS_ACTION: "Needs action",
}


def desk_retired_index() -> CatalogueIndex:
    """Return the catalogue index that says which subscriptions are on retired SKUs."""
    return catalogue_index()


def _nce_q() -> Q:
    """Match new-commerce subscriptions, as `Subscription.is_nce` decides."""
    return Q(product_type__iexact=NCE_PRODUCT_TYPE) | (
        Q(product_type="") & ~Q(product_id="") & ~Q(sku_id="")
    )


def _renewal_term_q() -> Q:
    condition = Q(pk__in=[])
    for term in RENEWAL_TERMS:
        condition |= Q(term_duration__iexact=term)
    return condition


def _last_migration_state() -> Subquery:
    """The state of a subscription's newest migration that was not cancelled."""
    return Subquery(
        Migration.objects.filter(source_subscription=OuterRef("pk"))
        .exclude(state=MigrationState.CANCELLED)
        .order_by("-created_at", "-id")
        .values("state")[:1]
    )


def _retired_state_q(state: str) -> Q:
    """Match annotated (`last_state`) retired subscriptions in `state`."""
    if state == IN_PROGRESS:
        return Q(last_state__isnull=False) & ~Q(last_state__in=TERMINAL_STATES)
    if state == NEEDS_ACTION:
        return Q(last_state__in=ATTENTION_STATES)
    if state == DONE:
        return Q(last_state=MigrationState.COMPLETED)
    if state == TO_MIGRATE:
        return Q(last_state__isnull=True, status__in=MIGRATABLE_STATUSES)
    raise ValueError(f"unknown retired state {state!r}")


def desk_retired_subscriptions(
    *, retired: CatalogueIndex, state: str
) -> QuerySet[Subscription]:
    """Return subscriptions on a retired SKU whose migration is in `state`.

    `to_migrate`: active or suspended, never migrated (or only cancelled
    migrations); `in_progress`: a migration is running; `needs_action`: the last
    one failed or needs the customer; `done`: the last one completed.
    """
    return (
        Subscription.objects.filter(retired.retired_q())
        .annotate(last_state=_last_migration_state())
        .filter(_retired_state_q(state))
    )


def desk_renewing_subscriptions(
    *, days: int, now: datetime | None = None
) -> QuerySet[Subscription]:
    """Return active annual and multi-year subscriptions that auto-renew within
    `days` days (their anniversary is after now and at most `days` days away)."""
    now = now or timezone.now()
    return Subscription.objects.filter(
        _renewal_term_q(),
        status=Subscription.ACTIVE,
        auto_renew_enabled=True,
        commitment_end_date__gt=now,
        commitment_end_date__lte=now + timedelta(days=days),
    )


def desk_expiring_subscriptions(
    *, days: int, now: datetime | None = None
) -> QuerySet[Subscription]:
    """Return active subscriptions with auto-renew off (any term) that end after
    now and at most `days` days away."""
    now = now or timezone.now()
    return Subscription.objects.filter(
        status=Subscription.ACTIVE,
        auto_renew_enabled=False,
        commitment_end_date__gt=now,
        commitment_end_date__lte=now + timedelta(days=days),
    )


def desk_digest_rows(*, days: int, now: datetime | None = None) -> list[DeskRow]:
    """Return what renews (annual and multi-year terms) or expires in the next
    `days` days, soonest first, with seat use: the weekly digest's rows."""
    now = now or timezone.now()
    renewing = desk_renewing_subscriptions(days=days, now=now)
    expiring = desk_expiring_subscriptions(days=days, now=now)
    subs = (
        (renewing | expiring)
        .select_related("customer")
        .order_by("commitment_end_date", "customer__company_name", "pk")
    )
    rows = [_renewal_row(sub, now) for sub in subs]
    desk_seat_use(rows)
    return rows


def desk_cancellable_subscriptions(
    *, now: datetime | None = None
) -> QuerySet[Subscription]:
    """Return new-commerce subscriptions inside their cancellation window now."""
    now = now or timezone.now()
    return Subscription.objects.filter(
        _nce_q(),
        status__in=(Subscription.ACTIVE, Subscription.SUSPENDED),
        cancellation_allowed_until__gt=now,
    )


def desk_suspended_subscriptions() -> QuerySet[Subscription]:
    """Return legacy subscriptions PartnerHub suspended, which are deprovisioned
    SUSPENSION_DEPROVISION_DAYS after that."""
    return Subscription.objects.filter(
        status=Subscription.SUSPENDED, suspended_by_partnerhub_at__isnull=False
    ).exclude(_nce_q())


# ---------------------------------------------------------------- page objects


@dataclass(frozen=True)
class Tile:
    """One number on the desk: subscriptions, at how many customers, and the
    customer-list query string that shows exactly those customers."""

    key: str
    label: str
    subscriptions: int
    customers: int
    query: str


@dataclass
class DeskRow:
    """One subscription as a desk section lists it."""

    section: str
    subscription: Subscription
    customer: Customer
    when: datetime | None = None
    days_left: int | None = None
    hours_left: int | None = None
    assigned: int | None = None
    unused: int | None = None

    @property
    def in_days(self) -> str:
        """Return "today", "tomorrow" or "in N days" (N whole calendar days)."""
        if self.days_left is None:
            return ""
        if self.days_left <= 0:
            return "today"
        if self.days_left == 1:
            return "tomorrow"
        return f"in {self.days_left} days"

    @property
    def hours_text(self) -> str:
        if self.hours_left is None:
            return ""
        if self.hours_left < 1:
            return "under an hour left"
        return f"{self.hours_left} hour{'' if self.hours_left == 1 else 's'} left"


@dataclass(frozen=True)
class ChartWeek:
    """Renewals and expirations of the subscriptions whose term ends in one week."""

    start: datetime
    renewals: int
    expirations: int

    @property
    def total(self) -> int:
        return self.renewals + self.expirations


@dataclass
class Desk:
    """Everything the renewal desk shows."""

    retired_tiles: list[Tile]
    renewal_tiles: list[Tile]
    cancellable_tile: Tile
    suspended_tile: Tile
    renewals: list[DeskRow] = field(default_factory=list)
    cancellable: list[DeskRow] = field(default_factory=list)
    suspended: list[DeskRow] = field(default_factory=list)
    chart: list[ChartWeek] = field(default_factory=list)
    has_mappings: bool = False

    @property
    def running(self) -> int:
        """Return how many retired subscriptions have a migration running."""
        return next(t.subscriptions for t in self.retired_tiles if t.key == IN_PROGRESS)


def _tile(key: str, label: str, counts: tuple[int, int], query: str) -> Tile:
    return Tile(key, label, counts[0], counts[1], query)


def _counts(
    queryset: QuerySet[Subscription], conditions: dict[str, Q]
) -> dict[str, tuple[int, int]]:
    """Return, per condition, (subscriptions, customers) in one query."""
    aggregates = {}
    for key, condition in conditions.items():
        aggregates[f"{key}__subs"] = Count("pk", filter=condition)
        aggregates[f"{key}__customers"] = Count(
            "customer", filter=condition, distinct=True
        )
    values = queryset.aggregate(**aggregates)
    return {
        key: (int(values[f"{key}__subs"] or 0), int(values[f"{key}__customers"] or 0))
        for key in conditions
    }


def desk_retired_tiles(*, retired: CatalogueIndex) -> list[Tile]:
    """Return the four retired-SKU tiles (left, in progress, done, needs action)."""
    if not retired.has_retired:
        return [
            Tile(key, label, 0, 0, f"migration={key}")
            for key, label in RETIRED_STATES.items()
        ]
    rows = Subscription.objects.filter(retired.retired_q()).annotate(
        last_state=_last_migration_state()
    )
    counts = _counts(rows, {key: _retired_state_q(key) for key in RETIRED_STATES})
    return [
        _tile(key, label, counts[key], f"migration={key}")
        for key, label in RETIRED_STATES.items()
    ]


def _other_tiles(now: datetime) -> tuple[list[Tile], Tile, Tile]:
    """Return the renewal tiles, the cancellable tile and the suspended tile."""
    longest = max(RENEWAL_WINDOWS)
    conditions = {
        f"renew{days}": Q(
            _renewal_term_q(),
            status=Subscription.ACTIVE,
            auto_renew_enabled=True,
            commitment_end_date__gt=now,
            commitment_end_date__lte=now + timedelta(days=days),
        )
        for days in RENEWAL_WINDOWS
    }
    conditions["cancellable"] = Q(
        _nce_q(),
        status__in=(Subscription.ACTIVE, Subscription.SUSPENDED),
        cancellation_allowed_until__gt=now,
    )
    conditions["suspended"] = (
        Q(status=Subscription.SUSPENDED, suspended_by_partnerhub_at__isnull=False)
        & ~_nce_q()
    )
    # Only rows one of the tiles can count are read.
    scope = Subscription.objects.filter(
        Q(
            commitment_end_date__gt=now,
            commitment_end_date__lte=now + timedelta(days=longest),
        )
        | Q(cancellation_allowed_until__gt=now)
        | Q(suspended_by_partnerhub_at__isnull=False)
    )
    counts = _counts(scope, conditions)
    renewals = [
        _tile(
            f"renew{days}",
            f"Renew within {days} days",
            counts[f"renew{days}"],
            f"renews_within={days}",
        )
        for days in RENEWAL_WINDOWS
    ]
    cancellable = _tile(
        "cancellable",
        "Cancellable now",
        counts["cancellable"],
        "cancellable=1",
    )
    suspended = _tile(
        "suspended",
        "Suspended, to be deprovisioned",
        counts["suspended"],
        "suspended=1",
    )
    return renewals, cancellable, suspended


def _entra_sku_ids(subscriptions: Sequence[Subscription]) -> dict[int, str]:
    """Return the Entra skuId each subscription's licences carry, where the synced
    catalogue says (two queries, whatever the number of subscriptions)."""
    country = settings.PARTNER_CENTER_COUNTRY
    legacy = {s.offer_id for s in subscriptions if not (s.product_id and s.sku_id)}
    modern = {
        f"{s.product_id}:{s.sku_id}" for s in subscriptions if s.product_id and s.sku_id
    }
    offers: dict[str, str] = {}
    if legacy:
        rows = Offer.objects.filter(offer_id__in=legacy).exclude(product_id="")
        for offer in sorted(rows, key=lambda o: (o.country == country, o.pk)):
            offers[offer.offer_id] = offer.product_id
    skus: dict[str, str] = {}
    if modern:
        sku_rows = ProductSku.objects.filter(key__in=modern).exclude(entra_sku_id="")
        for sku in sorted(sku_rows, key=lambda s: (s.country == country, s.pk)):
            skus[sku.key] = sku.entra_sku_id
    found = {}
    for sub in subscriptions:
        if sub.product_id and sub.sku_id:
            entra = skus.get(f"{sub.product_id}:{sub.sku_id}", "")
        else:
            entra = offers.get(sub.offer_id, "")
        if entra:
            found[sub.pk] = entra.strip().lower()
    return found


def desk_seat_use(rows: Iterable[DeskRow]) -> None:
    """Set each row's `assigned` and `unused` seats where they are known.

    `assigned` is the tenant's assigned units of the subscription's skuId (from
    its subscribed SKUs). `unused` is the seats that could go at renewal: the
    tenant's unassigned units of that skuId, at most the subscription's quantity
    (several subscriptions, or another channel, may provide the same licence).
    Three queries, whatever the number of rows.
    """
    rows = list(rows)
    entra = _entra_sku_ids([r.subscription for r in rows])
    if not entra:
        return
    customer_ids = {r.customer.pk for r in rows}
    units = {
        (sku.customer_id, sku.sku_id.strip().lower()): sku
        for sku in SubscribedSku.objects.filter(
            customer_id__in=customer_ids,
            sku_id__in={e for e in entra.values()}
            | {e.upper() for e in entra.values()},
        )
    }
    for row in rows:
        sku_id = entra.get(row.subscription.pk)
        sku = units.get((row.customer.pk, sku_id)) if sku_id else None
        if sku is None:
            continue
        row.assigned = sku.consumed_units
        bought = row.subscription.quantity
        spare = (sku.active_units or bought) - sku.consumed_units
        row.unused = max(0, min(bought, spare))


def _days_until(moment: datetime, now: datetime) -> int:
    return (moment.date() - now.date()).days


def _renewal_row(sub: Subscription, now: datetime) -> DeskRow:
    end = sub.commitment_end_date
    return DeskRow(
        section="renewal",
        subscription=sub,
        customer=sub.customer,
        when=end,
        days_left=_days_until(end, now) if end else None,
    )


def _cancellable_row(sub: Subscription, now: datetime) -> DeskRow:
    until = sub.cancellation_allowed_until
    assert until is not None
    return DeskRow(
        section="cancellable",
        subscription=sub,
        customer=sub.customer,
        when=until,
        hours_left=math.floor((until - now).total_seconds() / 3600),
    )


def _suspended_row(sub: Subscription, now: datetime) -> DeskRow:
    assert sub.suspended_by_partnerhub_at is not None
    after = sub.suspended_by_partnerhub_at + timedelta(days=SUSPENSION_DEPROVISION_DAYS)
    return DeskRow(
        section="suspended",
        subscription=sub,
        customer=sub.customer,
        when=after,
        days_left=max(0, _days_until(after, now)),
    )


def _renewal_queryset(days: int, now: datetime) -> QuerySet[Subscription]:
    return (
        desk_renewing_subscriptions(days=days, now=now)
        .select_related("customer")
        .order_by("commitment_end_date", "customer__company_name", "pk")
    )


def _cancellable_queryset(now: datetime) -> QuerySet[Subscription]:
    return (
        desk_cancellable_subscriptions(now=now)
        .select_related("customer")
        .order_by("cancellation_allowed_until", "customer__company_name", "pk")
    )


def _suspended_queryset() -> QuerySet[Subscription]:
    return (
        desk_suspended_subscriptions()
        .select_related("customer")
        .order_by("suspended_by_partnerhub_at", "customer__company_name", "pk")
    )


def desk_renewal_rows(
    *, days: int, now: datetime | None = None, limit: int = ROW_LIMIT
) -> list[DeskRow]:
    """Return the first `limit` subscriptions renewing within `days` days, soonest
    first, with their seat use."""
    now = now or timezone.now()
    rows = [_renewal_row(sub, now) for sub in _renewal_queryset(days, now)[:limit]]
    desk_seat_use(rows)
    return rows


def desk_cancellable_rows(
    *, now: datetime | None = None, limit: int = ROW_LIMIT
) -> list[DeskRow]:
    """Return the first `limit` subscriptions inside their cancellation window,
    closing soonest first, with the hours left."""
    now = now or timezone.now()
    return [_cancellable_row(sub, now) for sub in _cancellable_queryset(now)[:limit]]


def desk_suspended_rows(
    *, now: datetime | None = None, limit: int = ROW_LIMIT
) -> list[DeskRow]:
    """Return the first `limit` suspended legacy subscriptions, deprovisioned
    soonest first, with the days left."""
    now = now or timezone.now()
    return [_suspended_row(sub, now) for sub in _suspended_queryset()[:limit]]


def desk_chart(
    *, now: datetime | None = None, weeks: int = CHART_WEEKS
) -> list[ChartWeek]:
    """Return, for each of the next `weeks` weeks (Monday to Sunday, UTC, this one
    first), how many annual or multi-year subscriptions renew and how many
    subscriptions expire (auto-renew off) in it. One query."""
    now = now or timezone.now()
    first = (now - timedelta(days=now.weekday())).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    end = first + timedelta(weeks=weeks)
    renewing = Q(_renewal_term_q(), auto_renew_enabled=True)
    expiring = Q(auto_renew_enabled=False)
    rows = (
        Subscription.objects.filter(
            renewing | expiring,
            status=Subscription.ACTIVE,
            commitment_end_date__gt=now,
            commitment_end_date__lt=end,
        )
        .annotate(week=TruncWeek("commitment_end_date"))
        .values("week")
        .annotate(
            renewals=Count("pk", filter=renewing),
            expirations=Count("pk", filter=expiring),
        )
        .order_by("week")
    )
    by_week = {}
    for row in rows:
        start = row["week"]
        if timezone.is_naive(start):
            start = start.replace(tzinfo=UTC)
        index = (start - first).days // 7
        by_week[index] = (row["renewals"], row["expirations"])
    return [
        ChartWeek(
            start=first + timedelta(weeks=i),
            renewals=by_week.get(i, (0, 0))[0],
            expirations=by_week.get(i, (0, 0))[1],
        )
        for i in range(weeks)
    ]


def desk(*, now: datetime | None = None, limit: int = ROW_LIMIT) -> Desk:
    """Return the renewal desk: tiles, the soonest rows of each section, the chart.

    A constant number of queries, however many customers and subscriptions.
    """
    now = now or timezone.now()
    retired = desk_retired_index()
    renewal_tiles, cancellable_tile, suspended_tile = _other_tiles(now)
    return Desk(
        retired_tiles=desk_retired_tiles(retired=retired),
        renewal_tiles=renewal_tiles,
        cancellable_tile=cancellable_tile,
        suspended_tile=suspended_tile,
        renewals=desk_renewal_rows(days=max(RENEWAL_WINDOWS), now=now, limit=limit),
        cancellable=desk_cancellable_rows(now=now, limit=limit),
        suspended=desk_suspended_rows(now=now, limit=limit),
        chart=desk_chart(now=now),
        has_mappings=retired.has_retired,
    )


def desk_export_rows(
    *, now: datetime | None = None, chunk: int = EXPORT_CHUNK
) -> Iterator[DeskRow]:
    """Yield every row of the desk's sections: renewals within the longest window,
    then cancellable, then suspended subscriptions.

    Read `chunk` rows at a time (with their seat use), so a large export streams
    in constant memory and a few queries per chunk.
    """
    now = now or timezone.now()
    renewals = _renewal_queryset(max(RENEWAL_WINDOWS), now).iterator(chunk_size=chunk)
    for batch in _batched(renewals, chunk):
        rows = [_renewal_row(sub, now) for sub in batch]
        desk_seat_use(rows)
        yield from rows
    for sub in _cancellable_queryset(now).iterator(chunk_size=chunk):
        yield _cancellable_row(sub, now)
    for sub in _suspended_queryset().iterator(chunk_size=chunk):
        yield _suspended_row(sub, now)


def _batched(items: Iterable[Subscription], size: int) -> Iterator[list[Subscription]]:
    batch: list[Subscription] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
