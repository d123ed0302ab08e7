"""The customer list's pages, the renewal desk and the list's counts: p95 against
their bounds, query counts, and the former queries measured beside them."""

from __future__ import annotations

import math
from datetime import timedelta

from django.db.models import Count, Exists, F, OuterRef, Q, Subquery
from django.test import Client
from django.utils import timezone

from bench.common import PAGE_BUDGET_MS, Result
from bench.customer_list.timing import checked_get, query_count, timed_ms
from migrations_app.domain.catalogue import catalogue_index
from migrations_app.models import Customer, CustomerUser, Subscription
from migrations_app.selectors.customers import EXPIRING_SOON_DAYS

LIST_BOUND_MS = 100.0
PAGE_SIZE = 50


def _old_counts() -> None:
    """The counts as the list computed them before the facts: EXISTS per customer."""
    retired = catalogue_index()
    soon = timezone.now() + timedelta(days=EXPIRING_SOON_DAYS)
    Customer.objects.aggregate(
        total=Count("pk"),
        expiring=Count(
            "pk",
            filter=Exists(
                Subscription.objects.filter(
                    customer=OuterRef("pk"),
                    status="active",
                    auto_renew_enabled=False,
                    commitment_end_date__isnull=False,
                    commitment_end_date__lte=soon,
                )
            ),
        ),
        sync_errors=Count("pk", filter=~Q(sync_error="")),
        retired=Count(
            "pk",
            filter=Exists(
                Subscription.objects.filter(
                    retired.retired_q(), customer=OuterRef("pk")
                )
            ),
        ),
    )


def _former_page(offset: int) -> None:
    """The list's page query as it was before the facts: SELECT-list subqueries."""
    soonest = Subquery(
        Subscription.objects.filter(
            customer=OuterRef("pk"),
            status="active",
            commitment_end_date__isnull=False,
        )
        .order_by("commitment_end_date")
        .values("commitment_end_date")[:1]
    )
    users = Subquery(
        CustomerUser.objects.filter(customer=OuterRef("pk"))
        .order_by()
        .values("customer")
        .annotate(n=Count("pk"))
        .values("n")[:1]
    )
    rows = Customer.objects.annotate(former_end=soonest, former_users=users)
    rows = rows.order_by(F("former_end").asc(nulls_last=True), "company_name", "pk")
    list(rows[offset : offset + PAGE_SIZE])


def _facts_page(offset: int) -> None:
    """The list's page query today: the facts on the customer's row."""
    rows = Customer.objects.order_by(
        F("soonest_end").asc(nulls_last=True), "company_name", "pk"
    )
    list(rows[offset : offset + PAGE_SIZE])


def page_query_results(repeat: int) -> list[Result]:
    """The last page's SQL from the facts against the former subqueries."""
    offset = (math.ceil(Customer.objects.count() / PAGE_SIZE) - 1) * PAGE_SIZE
    facts_p95, _ = timed_ms(lambda: _facts_page(offset), repeat)
    former_p95, _ = timed_ms(lambda: _former_page(offset), max(3, repeat // 4))
    return [
        Result(
            "expiry sort, last page, SQL only, from the facts: p95",
            facts_p95,
            "ms",
            "-",
        ),
        Result(
            "expiry sort, last page, SQL only, the former subqueries: p95",
            former_p95,
            "ms",
            "baseline",
        ),
        Result("  facts / former way", facts_p95 / former_p95, "x", "< 1.00x"),
    ]


def list_results(client: Client, repeat: int) -> list[Result]:
    """The list's pages: p95 against LIST_BOUND_MS, with median and queries."""
    total = Customer.objects.count()
    last = max(1, math.ceil(total / PAGE_SIZE))
    retired_last = max(
        1, math.ceil(Customer.objects.filter(retired_count__gt=0).count() / PAGE_SIZE)
    )
    pages = [
        ("first page", ""),
        ("last page", f"?page={last}"),
        ("soonest-expiry sort, last page", f"?sort=expiry&page={last}"),
        ("?retired=1, first page", "?retired=1"),
        ("?retired=1, last page", f"?retired=1&page={retired_last}"),
        ("search 'customer 0999'", "?q=customer+0999"),
    ]
    results = []
    for label, query in pages:
        get = checked_get(client, f"/customers/{query}")
        p95, median = timed_ms(get, repeat)
        queries = query_count(get)
        results += [
            Result(
                f"customer list, {label}: p95", p95, "ms", f"<= {LIST_BOUND_MS:g} ms"
            ),
            Result(
                f"  p95 / bound ({label}; median {median:.1f} ms, {queries} queries)",
                p95 / LIST_BOUND_MS,
                "x",
                "<= 1.00x",
            ),
        ]
    return results


def desk_results(client: Client, repeat: int) -> list[Result]:
    """The renewal desk at `/`: p95 against the page budget, and its queries."""
    get = checked_get(client, "/")
    p95, median = timed_ms(get, repeat)
    queries = query_count(get)
    return [
        Result("renewal desk: p95", p95, "ms", f"<= {PAGE_BUDGET_MS:g} ms"),
        Result(
            f"  p95 / page budget (median {median:.1f} ms, {queries} queries)",
            p95 / PAGE_BUDGET_MS,
            "x",
            "<= 1.00x",
        ),
    ]


def query_constancy(client: Client) -> list[Result]:
    """Queries of page 1 with 50 rows vs a page of one row."""
    full = query_count(checked_get(client, "/customers/"))
    one = query_count(checked_get(client, "/customers/?q=customer+00005"))
    return [
        Result(
            "  query ratio: page of 50 rows / page of 1 row",
            full / max(one, 1),
            "x",
            "= 1.00x",
        )
    ]


def counts_results(repeat: int) -> list[Result]:
    from migrations_app.selectors.customers import customer_list_counts

    new_p95, _ = timed_ms(customer_list_counts, repeat)
    old_p95, _ = timed_ms(_old_counts, max(3, repeat // 4))
    return [
        Result("list counts from the facts: p95", new_p95, "ms", "-"),
        Result("list counts the former way (EXISTS): p95", old_p95, "ms", "baseline"),
        Result("  facts / former way", new_p95 / old_p95, "x", "< 1.00x"),
    ]
