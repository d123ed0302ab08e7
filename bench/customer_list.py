"""The customer list at 200 and 5,000 customers: time and queries per page."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.contrib.auth.models import Group, User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bench.common import Result, median_seconds
from hub.models import Customer, Subscription


def _grow_to(count: int) -> None:
    have = Customer.objects.count()
    now = timezone.now()
    customers = [
        Customer(
            tenant_id=uuid.uuid4(),
            company_name=f"Bench Customer {n:05d} with a fairly long trading name Ltd",
            domain=f"bench{n:05d}.onmicrosoft.com",
            relationship_to_partner="reseller",
            synced_at=now,
        )
        for n in range(have, count)
    ]
    Customer.objects.bulk_create(customers, batch_size=1000)
    created = Customer.objects.filter(domain__startswith="bench").order_by("id")[have:]
    subscriptions = []
    for n, customer in enumerate(created):
        for k in range(2):
            subscriptions.append(
                Subscription(
                    customer=customer,
                    subscription_id=str(uuid.uuid4()),
                    offer_id=str(uuid.uuid4()).upper(),
                    offer_name="Dynamics AX Enterprise" if k == 0 else "Office 365 E3",
                    quantity=10 + n % 20,
                    status=["active", "active", "suspended", "expired"][n % 4],
                    auto_renew_enabled=n % 3 != 0,
                    commitment_end_date=now + timedelta(days=n % 365),
                )
            )
    Subscription.objects.bulk_create(subscriptions, batch_size=1000)


def _measure(client: Client, query: str) -> tuple[float, int]:
    url = f"/customers/{query}"

    def get() -> None:
        response = client.get(url)
        assert response.status_code == 200, response.status_code

    with CaptureQueriesContext(connection) as queries:
        get()
    # Read the count now: the timed requests below reset Django's query log.
    count = len(queries.captured_queries)
    return median_seconds(get), count


def run() -> list[Result]:
    """Return the page's cost at 5,000 customers relative to 200."""
    user, _ = User.objects.get_or_create(username="bench-viewer")
    user.groups.set([Group.objects.get(name="viewer")])
    client = Client()
    client.force_login(user)
    results = []
    for query, label in [("", "first page"), ("?sort=expiry&q=bench", "sorted+search")]:
        _grow_to(200)
        small_time, small_queries = _measure(client, query)
        _grow_to(5000)
        big_time, big_queries = _measure(client, query)
        Customer.objects.filter(domain__startswith="bench").delete()
        results += [
            Result(
                f"customer list {label}: 200 customers", small_time * 1000, "ms", "-"
            ),
            Result(
                f"customer list {label}: 5,000 customers", big_time * 1000, "ms", "-"
            ),
            Result(
                f"  time ratio 5,000 / 200 ({label})",
                big_time / small_time,
                "x",
                "< 3x",
            ),
            Result(
                f"  query ratio 5,000 / 200 ({label})",
                big_queries / max(small_queries, 1),
                "x",
                "= 1.00x",
            ),
        ]
    return results
