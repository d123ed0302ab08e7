"""The desk's numbers: the tiles (subscriptions and customers per kind of row) and
the weekly chart of renewals and expirations. One query each, whatever the rows.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncWeek
from django.utils import timezone

from migrations_app.domain.catalogue import CatalogueIndex
from migrations_app.models import (
    TERMINAL_STATES,
    Customer,
    Migration,
    MigrationState,
    Subscription,
)
from migrations_app.selectors.desk.pages import ChartWeek, Tile
from migrations_app.selectors.desk.queries import (
    RENEWAL_WINDOWS,
    RETIRED_STATES,
    last_migration_state,
    nce_q,
    renewal_term_q,
    retired_state_q,
)

CHART_WEEKS = 26


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
        last_state=last_migration_state()
    )
    counts = _counts(rows, {key: retired_state_q(key) for key in RETIRED_STATES})
    return [
        _tile(key, label, counts[key], f"migration={key}")
        for key, label in RETIRED_STATES.items()
    ]


def desk_retired_stamp() -> str:
    """Return a stamp of what the retired-SKU tiles count, for their poll.

    It changes when a migration starts, moves on (its version), ends (even by a
    write that left its version alone) or is deleted, and when a sync changes how
    many subscriptions are on retired SKUs. Two small aggregates, whatever the rows.
    """
    m = Migration.objects.aggregate(
        n=Count("pk"),
        v=Sum("version"),
        ended=Count("pk", filter=Q(state__in=TERMINAL_STATES)),
        completed=Count("pk", filter=Q(state=MigrationState.COMPLETED)),
    )
    retired = Customer.objects.aggregate(r=Sum("retired_count"))["r"] or 0
    return f"{m['n']}.{m['v'] or 0}.{m['ended']}.{m['completed']}.{retired}"


def desk_other_tiles(now: datetime) -> tuple[list[Tile], Tile, Tile]:
    """Return the renewal tiles, the cancellable tile and the suspended tile."""
    longest = max(RENEWAL_WINDOWS)
    conditions = {
        f"renew{days}": Q(
            renewal_term_q(),
            status=Subscription.ACTIVE,
            auto_renew_enabled=True,
            commitment_end_date__gt=now,
            commitment_end_date__lte=now + timedelta(days=days),
        )
        for days in RENEWAL_WINDOWS
    }
    conditions["cancellable"] = Q(
        nce_q(),
        status__in=(Subscription.ACTIVE, Subscription.SUSPENDED),
        cancellation_allowed_until__gt=now,
    )
    conditions["suspended"] = (
        Q(status=Subscription.SUSPENDED, suspended_by_partnerhub_at__isnull=False)
        & ~nce_q()
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
    renewing = Q(renewal_term_q(), auto_renew_enabled=True)
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
