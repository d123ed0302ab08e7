"""The desk's rows: the soonest subscriptions of each section with their seat use,
the weekly digest's rows, and every row for the export.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from migrations_app.models import Offer, SubscribedSku, Subscription
from migrations_app.models.catalog import ProductSku
from migrations_app.models.pc_values import SUSPENSION_DEPROVISION_DAYS
from migrations_app.selectors.desk.pages import DeskRow
from migrations_app.selectors.desk.queries import (
    RENEWAL_WINDOWS,
    desk_cancellable_subscriptions,
    desk_expiring_subscriptions,
    desk_renewing_subscriptions,
    desk_suspended_subscriptions,
)

# The desk lists this many rows per section, soonest first; the tile links to all.
ROW_LIMIT = 25
EXPORT_CHUNK = 500


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
