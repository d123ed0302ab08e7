"""A full sync of 200 sandbox customers, then the same sync again.

The second pass finds nothing changed, so it must write no rows; its time shows
what the reads alone cost.
"""

from __future__ import annotations

import time

from django.conf import settings

from bench.common import Result
from hub.models import Customer, CustomerUser, Subscription, UserLicense
from hub.services.sync import sync_run
from sandbox.server import start_sandbox

CUSTOMERS = 200


def run() -> list[Result]:
    """Return first-pass and second-pass sync figures."""
    server = start_sandbox(
        customers=CUSTOMERS,
        seed=1,
        rate_limit_per_minute=1_000_000,
        provisioning_delay_seconds=0,
    )
    try:
        settings.PARTNER_CENTER_MODE = "sandbox"
        settings.PARTNER_CENTER_API_URL = f"{server.url}/v1"
        settings.PARTNER_CENTER_TOKEN_URL = (
            f"{server.url}/{settings.PARTNER_CENTER_TENANT_ID}/oauth2/token"
        )
        settings.PARTNER_CENTER_RATE_LIMIT_PER_MINUTE = 1_000_000
        started = time.perf_counter()
        first = sync_run()
        first_seconds = time.perf_counter() - started
        started = time.perf_counter()
        second = sync_run()
        second_seconds = time.perf_counter() - started
    finally:
        server.stop()
    rows = (
        Customer.objects.count()
        + Subscription.objects.count()
        + CustomerUser.objects.count()
        + UserLicense.objects.count()
    )
    return [
        Result(f"sync {CUSTOMERS} customers, first pass", first_seconds, "s", "-"),
        Result(
            "  Partner Center calls per customer", first.calls_made / CUSTOMERS, "", "-"
        ),
        Result(
            "  rows written, first pass", first.rows_written, "rows", f"~{rows} loaded"
        ),
        Result("sync again, nothing changed", second_seconds, "s", "-"),
        Result("  rows written, second pass", second.rows_written, "rows", "= 0"),
        Result(
            "  time ratio second / first", second_seconds / first_seconds, "x", "< 1x"
        ),
    ]
