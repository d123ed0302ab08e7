"""The customer list at 10,000 customers and the progress poll with 200 running
migrations: p95 time and queries per request, read against their bounds.

The estate: 10,000 customers, 50,000 subscriptions (five each, one in five
customers with one on a retired SKU), about 116,000 users. Sizes can be changed
with BENCH_LIST_CUSTOMERS (10000) and BENCH_LIST_REQUESTS (20 per figure).
"""

from __future__ import annotations

import html
import math
import os
import random
import re
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from datetime import timedelta

from django.contrib.auth.models import Group, User
from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Q, Subquery
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bench.common import PAGE_BUDGET_MS, Result
from bench.tables import peak_rss_mib
from hub.models import Customer, CustomerUser, Migration, Subscription
from hub.selectors.customers import EXPIRING_SOON_DAYS
from hub.workflow.catalogue import catalogue_index
from hub.workflow.customer_facts import customer_facts_update

LIST_BOUND_MS = 100.0
POLL_BOUND_MS = 10.0
RUNNING = 200
PAGE_SIZE = 50
RETIRED_NAME = "Dynamics AX Enterprise"
PREFIX = "bench"


def _customers_wanted() -> int:
    return int(os.environ.get("BENCH_LIST_CUSTOMERS", "10000"))


def _requests() -> int:
    return int(os.environ.get("BENCH_LIST_REQUESTS", "20"))


def _grow_to(count: int) -> float:
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


def _running_migrations() -> list[Migration]:
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
    return _running_migrations()


def _p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def _timed(action: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Return the p95 and median milliseconds of `repeat` calls (one warm-up)."""
    action()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return _p95(samples), statistics.median(samples)


def _queries(action: Callable[[], object]) -> int:
    with CaptureQueriesContext(connection) as captured:
        action()
    return len(captured.captured_queries)


def _get(client: Client, url: str, status: int = 200) -> Callable[[], bytes]:
    def get() -> bytes:
        response = client.get(url)
        assert response.status_code == status, (url, response.status_code)
        return response.content

    return get


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


def _page_query_results(repeat: int) -> list[Result]:
    offset = (math.ceil(Customer.objects.count() / PAGE_SIZE) - 1) * PAGE_SIZE
    facts_p95, _ = _timed(lambda: _facts_page(offset), repeat)
    former_p95, _ = _timed(lambda: _former_page(offset), max(3, repeat // 4))
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


def _list_results(client: Client, repeat: int) -> list[Result]:
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
        get = _get(client, f"/customers/{query}")
        p95, median = _timed(get, repeat)
        queries = _queries(get)
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


def _desk_results(client: Client, repeat: int) -> list[Result]:
    """The renewal desk at `/`: p95 against the page budget, and its queries."""
    get = _get(client, "/")
    p95, median = _timed(get, repeat)
    queries = _queries(get)
    return [
        Result("renewal desk: p95", p95, "ms", f"<= {PAGE_BUDGET_MS:g} ms"),
        Result(
            f"  p95 / page budget (median {median:.1f} ms, {queries} queries)",
            p95 / PAGE_BUDGET_MS,
            "x",
            "<= 1.00x",
        ),
    ]


def _query_constancy(client: Client) -> list[Result]:
    """Queries of page 1 with 50 rows vs a page of one row."""
    full = _queries(_get(client, "/customers/"))
    one = _queries(_get(client, "/customers/?q=customer+00005"))
    return [
        Result(
            "  query ratio: page of 50 rows / page of 1 row",
            full / max(one, 1),
            "x",
            "= 1.00x",
        )
    ]


def _counts_results(repeat: int) -> list[Result]:
    from hub.selectors.customers import customer_list_counts

    new_p95, _ = _timed(customer_list_counts, repeat)
    old_p95, _ = _timed(_old_counts, max(3, repeat // 4))
    return [
        Result("list counts from the facts: p95", new_p95, "ms", "-"),
        Result("list counts the former way (EXISTS): p95", old_p95, "ms", "baseline"),
        Result("  facts / former way", new_p95 / old_p95, "x", "< 1.00x"),
    ]


def _poll_url(versions: dict[int, int]) -> str:
    ids = ",".join(f"{pk}.{v}" for pk, v in sorted(versions.items()))
    return f"/migrations/progress/?ids={ids}&next=/customers/"


def _next_poll(content: bytes, url: str) -> str:
    """Return the poll URL the answer's poller carries (`url` if it has none)."""
    found = re.search(rb'id="migration-poller"[^>]*hx-get="([^"]+)"', content)
    return html.unescape(found.group(1).decode()) if found else url


def _bump(pks: list[int]) -> None:
    """Move these migrations on, as a worker's lease save does."""
    Migration.objects.filter(pk__in=pks).update(
        version=F("version") + 1, updated_at=timezone.now()
    )


class _BusyWorkers:
    """Another process saving migrations, as busy workers' lease saves do."""

    def __init__(self, pks: list[int], per_second: float = 40.0) -> None:
        self.pks = pks
        self.per_second = per_second
        self.process: subprocess.Popen[str] | None = None
        self.saves = 0

    def __enter__(self) -> _BusyWorkers:
        code = (
            "import django, sys; django.setup(); "
            "from bench.customer_list import busy_worker; busy_worker(sys.argv[1:])"
        )
        args = [str(self.per_second), ",".join(str(pk) for pk in self.pks)]
        self.process = subprocess.Popen(
            [sys.executable, "-c", code, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        # Wait until it saves, so the figure is taken under load.
        assert self.process.stdout is not None
        self.process.stdout.readline()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.process is not None
        out, _ = self.process.communicate("stop\n", timeout=30)
        self.saves = int(out.strip().splitlines()[-1] or 0)


def busy_worker(argv: list[str]) -> None:
    """Save random migrations at a rate until a line arrives on stdin; print saves."""
    per_second, pks = float(argv[0]), [int(pk) for pk in argv[1].split(",")]
    stop = threading.Event()
    threading.Thread(
        target=lambda: (sys.stdin.readline(), stop.set()), daemon=True
    ).start()
    rng = random.Random(7)
    saves = 0
    print("ready", flush=True)
    while not stop.is_set() and saves < per_second * 600:
        _bump([rng.choice(pks)])
        saves += 1
        time.sleep(1.0 / per_second)
    print(saves, flush=True)


def _poll_results(client: Client, repeat: int) -> list[Result]:
    migrations = _running_migrations()
    versions = {m.pk: m.version for m in migrations}
    pks = list(versions)
    idle = _get(client, _poll_url(versions), status=204)
    idle_p95, idle_median = _timed(idle, repeat * 2)
    idle_queries = _queries(idle)

    # Rows change between polls: 5 of the 200 each time. The page follows the
    # poller the answer carries, as htmx does.
    rng = random.Random(3)
    url = _poll_url(versions)
    samples = []
    sizes = []
    changing_queries = 0
    for _ in range(repeat * 2):
        _bump(rng.sample(pks, 5))
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url)
            samples.append((time.perf_counter() - started) * 1000)
        changing_queries = max(changing_queries, len(captured.captured_queries))
        assert response.status_code == 200, response.status_code
        sizes.append(len(response.content))
        url = _next_poll(response.content, url)
    changing_p95, changing_median = _p95(samples), statistics.median(samples)

    # Another process saves rows while the page polls (204s and answers).
    samples = []
    answered = 0
    with _BusyWorkers(pks) as busy:
        for _ in range(repeat * 2):
            started = time.perf_counter()
            response = client.get(url)
            samples.append((time.perf_counter() - started) * 1000)
            if response.status_code == 200:
                answered += 1
                url = _next_poll(response.content, url)
            time.sleep(0.05)
    busy_p95, busy_median = _p95(samples), statistics.median(samples)
    versions = dict(Migration.objects.filter(pk__in=pks).values_list("pk", "version"))

    # Every row ended since the page last polled (the largest answer).
    Migration.objects.filter(pk__in=pks).update(state="completed")
    _bump(pks)
    ended = _get(client, _poll_url(versions))
    started = time.perf_counter()
    ended_size = len(ended())
    ended_ms = (time.perf_counter() - started) * 1000
    Migration.objects.filter(pk__in=pks).update(state="queued")
    _bump(pks)

    return [
        Result(
            f"poll, {RUNNING} running, nothing changed: p95",
            idle_p95,
            "ms",
            f"<= {POLL_BOUND_MS:g} ms",
        ),
        Result(
            f"  p95 / bound (idle; median {idle_median:.1f} ms, {idle_queries} queries, 204)",
            idle_p95 / POLL_BOUND_MS,
            "x",
            "<= 1.00x",
        ),
        Result(
            f"poll, {RUNNING} running, 5 rows changed each poll: p95",
            changing_p95,
            "ms",
            f"<= {POLL_BOUND_MS:g} ms",
        ),
        Result(
            f"  p95 / bound (changing; median {changing_median:.1f} ms, "
            f"{changing_queries} queries, {statistics.median(sizes) / 1024:.1f} KB)",
            changing_p95 / POLL_BOUND_MS,
            "x",
            "<= 1.00x",
        ),
        Result(
            "poll while another process saves rows (~40/s): p95",
            busy_p95,
            "ms",
            f"<= {POLL_BOUND_MS:g} ms",
        ),
        Result(
            f"  p95 / bound (busy; median {busy_median:.1f} ms, {busy.saves} saves, "
            f"{answered} of {len(samples)} polls answered with rows)",
            busy_p95 / POLL_BOUND_MS,
            "x",
            "<= 1.00x",
        ),
        Result(
            f"poll once all {RUNNING} ended (one answer, {ended_size / 1024:.0f} KB)",
            ended_ms,
            "ms",
            "-",
        ),
    ]


def run() -> list[Result]:
    """Return the list's and the poll's p95 at 10,000 customers against their bounds."""
    user, _ = User.objects.get_or_create(username="bench-viewer")
    user.groups.set([Group.objects.get(name="viewer")])
    client = Client()
    client.force_login(user)
    repeat = _requests()
    wanted = _customers_wanted()
    started = time.perf_counter()
    facts_seconds = _grow_to(wanted)
    built = time.perf_counter() - started
    subscriptions = Subscription.objects.filter(customer__domain__startswith=PREFIX)
    estate = (
        f"{Customer.objects.count():,} customers, {subscriptions.count():,} "
        f"subscriptions, {CustomerUser.objects.count():,} users"
    )
    _running_migrations()
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
    results += _list_results(client, repeat)
    results += _query_constancy(client)
    results += _desk_results(client, repeat)
    results += _counts_results(repeat)
    results += _page_query_results(repeat)
    results += _poll_results(client, repeat)
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
