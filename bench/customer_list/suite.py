"""The customer-list benchmark's run: build (or find) the estate, then take every
figure in one pass, with the machine's load beside them."""

from __future__ import annotations

import os
import time

from django.contrib.auth.models import Group, User
from django.db import connection
from django.test import Client

from bench.common import Result
from bench.customer_list.estate import (
    PREFIX,
    customers_wanted,
    grow_to,
    running_migrations,
)
from bench.customer_list.pages import (
    counts_results,
    desk_results,
    list_results,
    page_query_results,
    query_constancy,
)
from bench.customer_list.poll import poll_results
from bench.customer_list.timing import requests_per_figure
from bench.tables import peak_rss_mib
from migrations_app.domain.customer_facts import customer_facts_update
from migrations_app.models import Customer, CustomerUser, Subscription


def run() -> list[Result]:
    """Return the list's and the poll's p95 at 10,000 customers against their bounds."""
    user, _ = User.objects.get_or_create(username="bench-viewer")
    user.groups.set([Group.objects.get(name="viewer")])
    client = Client()
    client.force_login(user)
    repeat = requests_per_figure()
    wanted = customers_wanted()
    started = time.perf_counter()
    facts_seconds = grow_to(wanted)
    built = time.perf_counter() - started
    subscriptions = Subscription.objects.filter(customer__domain__startswith=PREFIX)
    estate = (
        f"{Customer.objects.count():,} customers, {subscriptions.count():,} "
        f"subscriptions, {CustomerUser.objects.count():,} users"
    )
    running_migrations()
    # Fresh planner statistics, as autovacuum keeps them on a live database:
    # without them PostgreSQL plans the fresh tables as if they were empty.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    refresh_started = time.perf_counter()
    customer_facts_update()
    refresh_all = time.perf_counter() - refresh_started
    load_before = os.getloadavg()[0]
    results = [
        Result(f"estate: {estate}", built, "s", "built (or found)"),
        Result(
            "facts of every customer recomputed (one UPDATE)",
            refresh_all * 1000,
            "ms",
            "-",
        ),
    ]
    if facts_seconds:
        results.append(
            Result("  of which while building", facts_seconds * 1000, "ms", "-")
        )
    results += list_results(client, repeat)
    results += query_constancy(client)
    results += desk_results(client, repeat)
    results += counts_results(repeat)
    results += page_query_results(repeat)
    results += poll_results(client, repeat)
    # The machine is shared: how busy it was says how far the figures stand from
    # a quiet run (a load of 2 fills both cores of the reference machine).
    results.append(
        Result(
            f"bench process peak RSS ({connection.vendor}, web code in-process)",
            peak_rss_mib(),
            "MiB",
            "-",
        )
    )
    results.append(
        Result(
            "machine load (1-minute average) before / after the figures",
            load_before,
            "",
            f"after: {os.getloadavg()[0]:.2f}; {os.cpu_count()} cores",
        )
    )
    return results
