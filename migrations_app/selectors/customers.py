"""Read queries for the customer pages; none of them grows with the rows shown."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import (
    Count,
    Exists,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    prefetch_related_objects,
)
from django.utils import timezone

from migrations_app.domain.catalogue import CatalogueIndex, catalogue_index_shared
from migrations_app.domain.channels import other_channel_licences
from migrations_app.models import (
    Customer,
    CustomerUser,
    Migration,
    Subscription,
    SyncRun,
)
from migrations_app.models.customer_facts import customer_subscription_statuses_cached
from migrations_app.models.wording import has_usage_location
from migrations_app.selectors.desk import (
    RETIRED_STATES,
    desk_cancellable_subscriptions,
    desk_renewing_subscriptions,
    desk_retired_subscriptions,
    desk_suspended_subscriptions,
)

SORT_NAME = "name"
SORT_EXPIRY = "expiry"
EXPIRING_SOON_DAYS = 30


@dataclass(frozen=True)
class CustomerFilters:
    """What the customer list is narrowed and ordered by."""

    q: str = ""
    retired: bool = False
    expires_within: int | None = None
    status: str = ""
    sort: str = SORT_NAME
    # The renewal desk's tiles: customers with at least one of those rows.
    renews_within: int | None = None
    cancellable: bool = False
    suspended: bool = False
    migration: str = ""

    @property
    def active(self) -> bool:
        return bool(
            self.q
            or self.retired
            or self.expires_within is not None
            or self.status
            or self.renews_within is not None
            or self.cancellable
            or self.suspended
            or self.migration
        )


def _subscriptions_prefetch() -> Prefetch:
    """Return the prefetch of a customer's subscriptions, soonest end first."""
    return Prefetch(
        "subscriptions",
        queryset=Subscription.objects.order_by(
            F("commitment_end_date").asc(nulls_last=True), "offer_name", "pk"
        ),
    )


def customer_retired_index() -> CatalogueIndex:
    """Return the catalogue index that says which subscriptions are on retired SKUs.

    This process's shared copy: read only.
    """
    return catalogue_index_shared()


def customer_search(
    *, filters: CustomerFilters, retired: CatalogueIndex
) -> QuerySet[Customer]:
    """Return the customers matching `filters`, in the requested order.

    Filters and order read the facts kept on each customer's row (`retired_count`,
    `soonest_end`, `expiring_end`, `user_count`); subscriptions are prefetched.
    """
    customers = Customer.objects.all()
    q = filters.q.strip()
    if q:
        match = Q(company_name__icontains=q) | Q(domain__icontains=q)
        with contextlib.suppress(ValueError):
            match |= Q(tenant_id=uuid.UUID(q))
        customers = customers.filter(match)
    if filters.retired:
        customers = customers.filter(retired_count__gt=0)
    if filters.expires_within is not None:
        customers = customers.filter(
            expiring_end__lte=timezone.now() + timedelta(days=filters.expires_within)
        )
    if filters.status:
        customers = customers.filter(
            Exists(
                Subscription.objects.filter(
                    customer=OuterRef("pk"), status=filters.status
                )
            )
        )
    customers = _desk_filters(customers, filters, retired).prefetch_related(
        _subscriptions_prefetch()
    )
    if filters.sort == SORT_EXPIRY:
        return customers.order_by(
            F("soonest_end").asc(nulls_last=True), "company_name", "pk"
        )
    return customers.order_by("company_name", "pk")


def _desk_filters(
    customers: QuerySet[Customer], filters: CustomerFilters, retired: CatalogueIndex
) -> QuerySet[Customer]:
    """Narrow to customers with a row of the renewal desk tile `filters` names."""
    rows: list[QuerySet[Subscription]] = []
    if filters.renews_within is not None:
        rows.append(desk_renewing_subscriptions(days=filters.renews_within))
    if filters.cancellable:
        rows.append(desk_cancellable_subscriptions())
    if filters.suspended:
        rows.append(desk_suspended_subscriptions())
    if filters.migration in RETIRED_STATES:
        rows.append(
            desk_retired_subscriptions(retired=retired, state=filters.migration)
        )
    for subscriptions in rows:
        customers = customers.filter(
            Exists(subscriptions.filter(customer=OuterRef("pk")))
        )
    return customers


def customer_list_counts() -> dict[str, int]:
    """Return total customers, those with retired SKUs, expiring soon, sync errors.

    One aggregate over the facts kept on the customers' rows.
    """
    soon = timezone.now() + timedelta(days=EXPIRING_SOON_DAYS)
    counts = Customer.objects.aggregate(
        total=Count("pk"),
        retired=Count("pk", filter=Q(retired_count__gt=0)),
        expiring=Count("pk", filter=Q(expiring_end__lte=soon)),
        sync_errors=Count("pk", filter=~Q(sync_error="")),
    )
    return {key: int(value or 0) for key, value in counts.items()}


def customer_subscription_statuses() -> list[str]:
    """Return every subscription status present in the data, known or not."""
    return customer_subscription_statuses_cached()


def customer_tag_rows(
    *, customers: list[Customer], retired: CatalogueIndex
) -> list[Customer]:
    """Return the customers of one page, each with `subscription_rows`.

    Subscriptions come from `customer_search`'s prefetch (soonest end first); each
    gets `is_retired`. No query is made here.
    """
    rows = list(customers)
    for customer in rows:
        _tag_subscriptions(customer, retired)
    return rows


def customer_subscription_rows(*, customers: Sequence[Customer]) -> None:
    """Give each customer `subscription_rows`, as the customer list's cell shows them.

    A constant number of queries, however many customers: the catalogue and the
    subscriptions. For refreshing the cells of rows already on the page.
    """
    if not customers:
        return
    retired = customer_retired_index()
    prefetch_related_objects(list(customers), _subscriptions_prefetch())
    for customer in customers:
        _tag_subscriptions(customer, retired)


def _tag_subscriptions(customer: Customer, retired: CatalogueIndex) -> None:
    """Set `subscription_rows` from the prefetch, each with `is_retired`."""
    subs = list(customer.subscriptions.all())
    for sub in subs:
        sub.is_retired = retired.is_retired(sub)  # type: ignore[attr-defined]
    customer.subscription_rows = subs  # type: ignore[attr-defined]


def customer_detail(*, tenant_id: uuid.UUID) -> Customer | None:
    """Return the customer with everything its page shows, or None.

    The customer carries `subscription_rows` (with `is_retired`), `sku_rows`
    (with `other_channel_units`: bought through another channel), `user_rows` (with `license_rows`, each with `is_retired`) and
    `users_without_location`.
    """
    customer = (
        Customer.objects.filter(tenant_id=tenant_id)
        .prefetch_related(
            _subscriptions_prefetch(),
            "subscribed_skus",
            Prefetch(
                "users",
                queryset=CustomerUser.objects.order_by(
                    "display_name", "user_principal_name", "pk"
                ).prefetch_related("licenses"),
            ),
        )
        .first()
    )
    if customer is None:
        return None
    retired = customer_retired_index()
    retired_skus = retired.retired_sku_ids()
    subs = list(customer.subscriptions.all())
    for sub in subs:
        sub.is_retired = retired.is_retired(sub)  # type: ignore[attr-defined]
    skus = list(customer.subscribed_skus.all())
    elsewhere = {o.sku_id: o.units for o in other_channel_licences(subs, skus)}
    for sku in skus:
        sku.is_retired = sku.sku_id in retired_skus  # type: ignore[attr-defined]
        sku.other_channel_units = elsewhere.get(sku.sku_id, 0)  # type: ignore[attr-defined]
    customer.other_channel_units = sum(elsewhere.values())  # type: ignore[attr-defined]
    users = list(customer.users.all())
    for user in users:
        licenses = list(user.licenses.all())
        for lic in licenses:
            lic.is_retired = lic.sku_id in retired_skus  # type: ignore[attr-defined]
        user.license_rows = licenses  # type: ignore[attr-defined]
    customer.subscription_rows = subs  # type: ignore[attr-defined]
    customer.sku_rows = skus  # type: ignore[attr-defined]
    customer.user_rows = users  # type: ignore[attr-defined]
    customer.users_without_location = sum(  # type: ignore[attr-defined]
        1 for user in users if not has_usage_location(user.usage_location)
    )
    return customer


def customer_latest_sync() -> SyncRun | None:
    """Return the most recently started sync run, if any."""
    return (
        SyncRun.objects.select_related("requested_by")
        .order_by("-started_at", "-pk")
        .first()
    )


def customer_sync_pending(*, since: datetime) -> bool:
    """Return True if no sync run has started since `since` (one is queued)."""
    return not SyncRun.objects.filter(
        started_at__gte=since - timedelta(seconds=1)
    ).exists()


def customer_running_sync(*, started_after: datetime) -> SyncRun | None:
    """Return a sync run still marked running that started after `started_after`.

    Older rows marked running were left by a killed worker; the next run closes them.
    """
    return (
        SyncRun.objects.filter(
            status=SyncRun.Status.RUNNING, started_at__gt=started_after
        )
        .order_by("-started_at")
        .first()
    )


def customer_user_names(
    *, tenant_id: uuid.UUID | str, user_ids: Sequence[str]
) -> dict[str, str]:
    """Return each known user's display name (or UPN) by user id, in one query."""
    if not user_ids:
        return {}
    rows = CustomerUser.objects.filter(
        customer__tenant_id=tenant_id, user_id__in=list(user_ids)
    ).values_list("user_id", "display_name", "user_principal_name")
    return {user_id: name or upn or user_id for user_id, name, upn in rows}


def customer_migration_retire_modes(*, migration_ids: Sequence[int]) -> dict[int, str]:
    """Return how each migration retires its old subscription, in one query."""
    if not migration_ids:
        return {}
    return dict(
        Migration.objects.filter(pk__in=list(migration_ids)).values_list(
            "pk", "retire_mode"
        )
    )
