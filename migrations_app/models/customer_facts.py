"""The facts about a customer that the customer list filters, sorts and counts on.

They are derived from the customer's subscriptions and users and kept on the
customer's row, so the list reads columns instead of aggregating subscriptions
for every customer on every view. `customer_facts_refresh` is the one place that
computes them: the sync calls it after writing a customer's rows, the engine when
a migration ends, the catalogue services when what counts as retired changes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import Any

from django.core.cache import cache
from django.db.models import (
    Count,
    F,
    IntegerField,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from redis.exceptions import RedisError

from migrations_app.models.partner import Customer, CustomerUser
from migrations_app.models.subscription import Subscription

# The subscription statuses present in the data, for the list's status filter.
STATUSES_CACHE_KEY = "customer-list:statuses"
STATUSES_CACHE_SECONDS = 600


def _count_per_customer(rows: QuerySet[Any]) -> Coalesce:
    """Return how many of `rows` belong to the outer customer (0 for none)."""
    per_customer = Subquery(
        rows.filter(customer=OuterRef("pk"))
        .order_by()
        .values("customer")
        .annotate(n=Count("pk"))
        .values("n")[:1]
    )
    return Coalesce(per_customer, Value(0), output_field=IntegerField())


def _earliest_end(condition: Q) -> Subquery:
    return Subquery(
        Subscription.objects.filter(
            condition,
            customer=OuterRef("pk"),
            status=Subscription.ACTIVE,
            commitment_end_date__isnull=False,
        )
        .order_by()
        .values("customer")
        .annotate(end=Min("commitment_end_date"))
        .values("end")[:1]
    )


def customer_facts_refresh(
    *, retired: Q, customer_ids: Iterable[int] | None = None
) -> int:
    """Recompute the facts on these customers (every customer if None).

    `retired` is the filter on subscriptions on a retired SKU (the catalogue's
    `retired_q()`). One UPDATE; return how many customer rows it touched.
    """
    customers = Customer.objects.all()
    if customer_ids is not None:
        ids = list(customer_ids)
        if not ids:
            return 0
        customers = customers.filter(pk__in=ids)
    touched = customers.update(
        retired_count=_count_per_customer(Subscription.objects.filter(retired)),
        soonest_end=_earliest_end(Q()),
        expiring_end=_earliest_end(Q(auto_renew_enabled=False)),
        user_count=_count_per_customer(CustomerUser.objects.all()),
    )
    _forget_statuses()
    return touched


def _forget_statuses() -> None:
    # Without the cache (Redis down, or a migration run before it is up) there
    # is nothing to forget; the list reads the statuses afresh when it has none.
    with contextlib.suppress(RedisError):
        cache.delete(STATUSES_CACHE_KEY)


def customer_retired_counts_refresh(*, retired: Q) -> int:
    """Recompute every customer's count of subscriptions on a retired SKU.

    For a change of the catalogue or its mappings, which can change what counts
    as retired for any customer. Only rows whose count changes are written;
    return how many.
    """
    fresh = _count_per_customer(Subscription.objects.filter(retired))
    stale = Customer.objects.alias(fresh=fresh).exclude(retired_count=F("fresh"))
    touched = stale.update(retired_count=fresh)
    return touched


def customer_subscription_statuses_cached() -> list[str]:
    """Return every subscription status present in the data, known or not.

    Read once and kept in the cache until the next refresh of the facts (a sync or
    migration writing subscriptions) or STATUSES_CACHE_SECONDS.
    """
    statuses = cache.get(STATUSES_CACHE_KEY)
    if isinstance(statuses, list):
        return statuses
    statuses = list(
        Subscription.objects.exclude(status="")
        .order_by("status")
        .values_list("status", flat=True)
        .distinct()
    )
    cache.set(STATUSES_CACHE_KEY, statuses, STATUSES_CACHE_SECONDS)
    return statuses
