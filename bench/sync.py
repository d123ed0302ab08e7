"""A full sync of 800 sandbox customers at 50 ms and 3,000/min, then the same again.

The sandbox runs as its own process with Partner Center's latency and rate limit;
the sync runs here, reading customers on `PARTNERHUB_SYNC_CONCURRENCY` threads
under the shared Redis bucket. Each pass is read against the rate-limit bound
(its calls divided by the rate per second: the fastest any number of readers
could go). The second pass finds nothing changed, so it must write no rows, and
reads users and licences only for the customers that need them. The projection
for a 10,000-customer reseller at Partner Center's real 500/min uses the calls
per customer and the ratio to the bound measured here.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any

import requests
from django.conf import settings

from bench.chaos.procs import ROOT, free_port, listening, wait_until
from bench.common import Result
from migrations_app.models import (
    Customer,
    CustomerUser,
    Subscription,
    SyncRun,
    UserLicense,
)
from migrations_app.services.sync import sync_run
from partner_center.config import clear_shared_clients

PROJECTED_CUSTOMERS = 10_000
PROJECTED_RATE = 500


def _start_sandbox(customers: int, latency: int, rate: int) -> tuple[Any, str]:
    port = free_port()
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sandbox",
            f"--port={port}",
            f"--customers={customers}",
            "--seed=1",
            f"--rate-limit={rate}",
            f"--latency-ms={latency}",
            "--provisioning-delay=0",
            "--quiet",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_until(lambda: listening(port), 120, "the sandbox")
    return child, f"http://127.0.0.1:{port}"


def _throttled(url: str) -> int:
    dump = requests.get(f"{url}/_sandbox/state", timeout=120).json()
    return sum(1 for r in dump["requests"] if r.get("status") == 429)


def _pass(rate: int) -> tuple[SyncRun, float, float]:
    started = time.perf_counter()
    run = sync_run()
    seconds = time.perf_counter() - started
    bound = run.calls_made / (rate / 60)
    return run, seconds, bound


def run() -> list[Result]:
    """Return both passes against the bound, calls per customer and the projection."""
    customers = int(os.environ.get("BENCH_SYNC_CUSTOMERS", "800"))
    latency = int(os.environ.get("BENCH_SYNC_LATENCY_MS", "50"))
    rate = int(os.environ.get("BENCH_SYNC_RATE", "3000"))
    child, url = _start_sandbox(customers, latency, rate)
    try:
        settings.PARTNER_CENTER_MODE = "sandbox"
        settings.PARTNER_CENTER_API_URL = f"{url}/v1"
        settings.PARTNER_CENTER_TOKEN_URL = (
            f"{url}/{settings.PARTNER_CENTER_TENANT_ID}/oauth2/token"
        )
        settings.PARTNER_CENTER_RATE_LIMIT_PER_MINUTE = rate
        clear_shared_clients()
        first, first_seconds, first_bound = _pass(rate)
        second, second_seconds, second_bound = _pass(rate)
        throttled = _throttled(url)
    finally:
        child.terminate()
        child.wait(timeout=30)
        clear_shared_clients()
    seen = max(first.customers_seen, 1)
    rows = (
        Customer.objects.count()
        + Subscription.objects.count()
        + CustomerUser.objects.count()
        + UserLicense.objects.count()
    )
    threads = settings.PARTNERHUB_SYNC_CONCURRENCY
    per_second = PROJECTED_RATE / 60

    def projected(run: SyncRun, ratio: float) -> float:
        return PROJECTED_CUSTOMERS * run.calls_made / seen / per_second * ratio / 3600

    return [
        Result(
            f"sync {seen} customers, {latency} ms, {rate}/min, {threads} threads",
            first_seconds,
            "s",
            "-",
        ),
        Result("  Partner Center calls", first.calls_made, "calls", "-"),
        Result("  calls per customer", first.calls_made / seen, "", "-"),
        Result("  customers whose users were read", first.users_read, "", "all"),
        Result("  rate-limit bound (calls / rate per second)", first_bound, "s", "-"),
        Result("  time / bound", first_seconds / first_bound, "x", "<= 1.20x"),
        Result("  rows written", first.rows_written, "rows", f"~{rows} loaded"),
        Result("sync again, nothing changed", second_seconds, "s", "-"),
        Result("  Partner Center calls", second.calls_made, "calls", "-"),
        Result("  calls per customer", second.calls_made / seen, "", "-"),
        Result(
            "  calls second / first pass",
            second.calls_made / max(first.calls_made, 1),
            "x",
            "< 1x (users only where needed)",
        ),
        Result("  customers whose users were read", second.users_read, "", "-"),
        Result("  time / bound", second_seconds / second_bound, "x", "<= 1.20x"),
        Result("  rows written", second.rows_written, "rows", "= 0"),
        Result("  429 from the rate limit (both passes)", throttled, "", "0"),
        Result(
            f"projected: {PROJECTED_CUSTOMERS:,} customers at {PROJECTED_RATE}/min, "
            "first pass",
            projected(first, first_seconds / first_bound),
            "h",
            "-",
        ),
        Result(
            f"projected: {PROJECTED_CUSTOMERS:,} customers at {PROJECTED_RATE}/min, "
            "later passes",
            projected(second, second_seconds / second_bound),
            "h",
            "(was ~5 h every run)",
        ),
    ]
