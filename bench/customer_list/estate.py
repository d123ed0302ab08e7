"""The benchmark's estate: bench customers, their subscriptions and users, and
the running migrations the progress poll follows; built once, found afterwards.

Sizes: BENCH_LIST_CUSTOMERS customers (10000), five subscriptions each (one in
five customers with one on a retired SKU), 11 users each (14 for those five).
"""

from __future__ import annotations

import os
import time
import uuid
from datetime import timedelta

from django.utils import timezone

from migrations_app.domain.customer_facts import customer_facts_update
from migrations_app.models import Customer, CustomerUser, Migration, Subscription

RUNNING = 200
RETIRED_NAME = "Dynamics AX Enterprise"
PREFIX = "bench"


def customers_wanted() -> int:
    """Return how many customers the estate holds (BENCH_LIST_CUSTOMERS)."""
    return int(os.environ.get("BENCH_LIST_CUSTOMERS", "10000"))


def grow_to(count: int) -> float:
    """Create the estate up to `count` customers; return seconds to refresh facts."""
    have = Customer.objects.filter(domain__startswith=PREFIX).count()
    if have >= count:
        return 0.0
    now = timezone.now()
    Customer.objects.bulk_create(
        [
            Customer(
                tenant_id=uuid.uuid4(),
                company_name=f"Bench Customer {n:05d} with a fairly long trading name",
                domain=f"{PREFIX}{n:05d}.onmicrosoft.com",
                relationship_to_partner="reseller",
                synced_at=now,
                sync_error="Could not read users" if n % 97 == 0 else "",
            )
            for n in range(have, count)
        ],
        batch_size=2000,
    )
    created = list(
        Customer.objects.filter(domain__startswith=PREFIX).order_by("id")[have:]
    )
    subscriptions = []
    users = []
    for n, customer in enumerate(created, start=have):
        for k in range(5):
            retired = k == 0 and n % 5 == 0
            subscriptions.append(
                Subscription(
                    customer=customer,
                    subscription_id=str(uuid.uuid4()),
                    offer_id=str(uuid.uuid4()).upper(),
                    offer_name=RETIRED_NAME if retired else f"Office 365 E{k + 1}",
                    quantity=10 + n % 20,
                    status=["active", "active", "active", "suspended", "expired"][
                        (n + k) % 5
                    ],
                    auto_renew_enabled=(n + k) % 3 != 0,
                    commitment_end_date=now + timedelta(days=(n * 7 + k * 31) % 400),
                )
            )
        for u in range(11 + (3 if n % 5 == 0 else 0)):
            users.append(
                CustomerUser(
                    customer=customer,
                    user_id=str(uuid.uuid4()),
                    user_principal_name=f"user{u}@{customer.domain}",
                    display_name=f"User {u}",
                    usage_location="US",
                )
            )
    Subscription.objects.bulk_create(subscriptions, batch_size=2000)
    CustomerUser.objects.bulk_create(users, batch_size=2000)
    started = time.perf_counter()
    customer_facts_update()
    return time.perf_counter() - started


def running_migrations() -> list[Migration]:
    """Return RUNNING open migrations on as many customers, made if missing."""
    have = list(
        Migration.objects.filter(customer__domain__startswith=PREFIX)
        .exclude(state__in=["completed", "failed", "cancelled"])
        .order_by("pk")
    )
    if len(have) >= RUNNING:
        return have[:RUNNING]
    sources = list(
        Subscription.objects.filter(
            offer_name=RETIRED_NAME, customer__domain__startswith=PREFIX
        )
        .exclude(migrations__isnull=False)
        .order_by("customer__company_name")[: RUNNING - len(have)]
    )
    Migration.objects.bulk_create(
        [
            Migration(
                customer_id=sub.customer_id,
                source_subscription=sub,
                source_offer_id=sub.offer_id,
                target_offer_id=str(uuid.uuid4()).upper(),
                target_offer_name="Dynamics 365 Finance",
                quantity=sub.quantity,
                state="move_licenses" if n % 2 else "queued",
            )
            for n, sub in enumerate(sources)
        ]
    )
    return running_migrations()
