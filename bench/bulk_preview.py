"""The bulk preview of every customer matching a filter, at 200 and 10,000
customers: time and queries per page, against the page budget."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.contrib.auth.models import Group, User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bench.common import PAGE_BUDGET_MS, Result, median_seconds
from migrations_app.domain.customer_facts import customer_facts_update
from migrations_app.models import (
    Customer,
    CustomerUser,
    Offer,
    SkuMapping,
    SkuMappingTarget,
    Subscription,
    UserLicense,
)

RETIRED_SKU = "bbbbbbbb-0000-0000-0000-00000000b001"
# Every bench customer on a retired SKU; the search keeps other suites' estates
# (the customer list's 10,000) out of the figure.
URL = "/bulk/preview/?all=1&retired=1&q=Bulk+Bench+Customer"


def _clear() -> None:
    """Delete the benchmark's customers, mapping and offers."""
    Customer.objects.filter(domain__startswith="bulkbench").delete()
    SkuMapping.objects.filter(product_line="Bench").delete()
    Offer.objects.filter(offer_id__startswith="BENCH-").delete()


def _mapping() -> str:
    """Return the retired offer id of a mapping made for the benchmark."""
    retired = Offer.objects.create(
        offer_id="BENCH-RETIRED-OFFER",
        name="Bench Retired Plan",
        product_id=RETIRED_SKU,
    )
    target = Offer.objects.create(
        offer_id="BENCH-TARGET-OFFER",
        name="Bench Successor Plan",
        product_id="bbbbbbbb-0000-0000-0000-00000000b002",
    )
    mapping = SkuMapping.objects.create(
        product_line="Bench",
        retired_name=retired.name,
        retired_offer_id=retired.offer_id,
    )
    SkuMappingTarget.objects.create(
        mapping=mapping, target_name=target.name, target_offer_id=target.offer_id
    )
    return retired.offer_id


def _grow_to(count: int, retired_offer: str) -> None:
    """Add customers until there are `count` bench ones, each with a retired
    subscription, an ordinary one and three users holding the retired licence."""
    have = Customer.objects.filter(domain__startswith="bulkbench").count()
    now = timezone.now()
    Customer.objects.bulk_create(
        (
            Customer(
                tenant_id=uuid.uuid4(),
                company_name=f"Bulk Bench Customer {n:05d} Ltd",
                domain=f"bulkbench{n:05d}.onmicrosoft.com",
                relationship_to_partner="reseller",
                synced_at=now,
            )
            for n in range(have, count)
        ),
        batch_size=1000,
    )
    created = list(
        Customer.objects.filter(domain__startswith="bulkbench").order_by("id")[have:]
    )
    subscriptions = []
    users = []
    for n, customer in enumerate(created):
        subscriptions.append(
            Subscription(
                customer=customer,
                subscription_id=str(uuid.uuid4()),
                offer_id=retired_offer,
                offer_name="Bench Retired Plan",
                quantity=5 + n % 20,
                status="active",
                auto_renew_enabled=True,
                commitment_end_date=now + timedelta(days=30 + n % 300),
            )
        )
        subscriptions.append(
            Subscription(
                customer=customer,
                subscription_id=str(uuid.uuid4()),
                offer_id=str(uuid.uuid4()).upper(),
                offer_name="Office 365 E3",
                quantity=10,
                status="active",
                auto_renew_enabled=True,
                commitment_end_date=now + timedelta(days=n % 365),
            )
        )
        for k in range(3):
            users.append(
                CustomerUser(
                    customer=customer,
                    user_id=str(uuid.uuid4()),
                    display_name=f"User {k}",
                    user_principal_name=f"user{k}@{customer.domain}",
                    usage_location="US",
                )
            )
    Subscription.objects.bulk_create(subscriptions, batch_size=1000)
    CustomerUser.objects.bulk_create(users, batch_size=1000)
    fresh = CustomerUser.objects.filter(customer__in=created)
    UserLicense.objects.bulk_create(
        (UserLicense(user=user, sku_id=RETIRED_SKU) for user in fresh.iterator()),
        batch_size=1000,
    )
    # Rows written in bulk bypass the per-row hooks: recompute their facts as the
    # sync does after writing a customer's rows.
    customer_facts_update(customer_ids=[c.pk for c in created])
    # Fresh planner statistics, as autovacuum keeps them on a live database. Without
    # them PostgreSQL plans the just-filled tables as if they were empty, and the
    # cannot-start count's nested EXISTS runs as nested loops over every
    # subscription: over 60 s instead of about 0.13 s for 10,000 customers.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def _measure(client: Client) -> tuple[float, int]:
    def get() -> None:
        response = client.get(URL)
        assert response.status_code == 200, response.status_code
        # Every row of the page is a plan that would start.
        assert response.content.count(b"Bench Successor Plan") == 25

    with CaptureQueriesContext(connection) as queries:
        get()
    count = len(queries.captured_queries)
    return median_seconds(get), count


def run() -> list[Result]:
    """Return the preview's cost at 10,000 customers against 200 and the budget."""
    user, _ = User.objects.get_or_create(username="bench-operator")
    user.groups.set([Group.objects.get(name="operator")])
    client = Client()
    client.force_login(user)
    _clear()  # what an interrupted run left behind
    retired_offer = _mapping()
    _grow_to(200, retired_offer)
    small_time, small_queries = _measure(client)
    _grow_to(10_000, retired_offer)
    big_time, big_queries = _measure(client)
    _clear()
    return [
        Result(
            "bulk preview, all matching: 200 customers", small_time * 1000, "ms", "-"
        ),
        Result(
            "bulk preview, all matching: 10,000 customers",
            big_time * 1000,
            "ms",
            f"< {PAGE_BUDGET_MS:,.0f} ms",
        ),
        Result("  time ratio 10,000 / 200", big_time / small_time, "x", "-"),
        Result(
            "  query ratio 10,000 / 200",
            big_queries / max(small_queries, 1),
            "x",
            "= 1.00x",
        ),
    ]
