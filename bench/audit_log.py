"""The audit log at 1,000,000 events: appends, page reads, chain verification.

Set BENCH_AUDIT_EVENTS to change the large size (default 1,000,000).
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.test import Client
from django.utils import timezone

from bench.common import Result, median_seconds
from migrations_app.models import AuditChainHead, AuditEvent
from migrations_app.services.audit import audit_record

SMALL = 10_000
LARGE = int(os.environ.get("BENCH_AUDIT_EVENTS", "1000000"))
ROOT = settings.BASE_DIR
ACTIONS = ["partner_center.write", "login", "migration.started", "sync.completed"]


def _grow_chain_to(count: int) -> None:
    """Append valid, chained events in bulk until the log holds `count` events."""
    head = AuditChainHead.objects.get(pk=1)
    have = AuditEvent.objects.count()
    prev = head.last_hash
    start = timezone.now() - timedelta(days=365)
    batch: list[AuditEvent] = []
    total = head.event_count
    for n in range(have, count):
        event = AuditEvent(
            created_at=start + timedelta(seconds=n * 30),
            actor="system" if n % 3 else "operator",
            action=ACTIONS[n % len(ACTIONS)],
            customer_tenant_id=f"00000000-0000-0000-0000-{n % 5000:012d}",
            customer_name=f"Bench Customer {n % 5000:05d}",
            message=f"Bench event {n}",
            pc_method="POST" if n % 4 == 0 else "",
            pc_path=f"/customers/x/orders/{n}" if n % 4 == 0 else "",
            pc_status=201 if n % 4 == 0 else None,
            details={"n": n},
        )
        event.prev_hash = prev
        event.hash = event.compute_hash(prev)
        prev = event.hash
        batch.append(event)
        if len(batch) == 5000:
            AuditEvent.objects.bulk_create(batch)
            total += len(batch)
            batch = []
    if batch:
        AuditEvent.objects.bulk_create(batch)
        total += len(batch)
    last = AuditEvent.objects.order_by("-id").only("id").first()
    AuditChainHead.objects.filter(pk=1).update(
        last_event_id=last.pk if last else 0, last_hash=prev, event_count=total
    )


def _page_times(client: Client) -> dict[str, float]:
    oldest = AuditEvent.objects.order_by("id").values_list("id", flat=True).first() or 0
    deep = oldest + 100
    urls = {
        "newest page": "/audit/",
        "deepest page": f"/audit/?before={deep}",
        "filtered by action": "/audit/?action=migration.started",
        "filtered by customer": "/audit/?customer=00000000-0000-0000-0000-000000000042",
    }
    times = {}
    for label, url in urls.items():

        def get(url: str = url) -> None:
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)

        times[label] = median_seconds(get, repeat=3)
    return times


def _verify_cost() -> tuple[float, float]:
    """Run `manage.py audit_verify` in a child process; return seconds and peak MB.

    The peak is the largest resident set of any child so far, so measuring the
    small log first and the large one second gives a fair ratio.
    """
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "manage.py", "audit_verify"],
        cwd=ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if completed.returncode != 0:
        raise RuntimeError(f"audit_verify failed: {completed.stdout}{completed.stderr}")
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return seconds, peak_kib / 1024


def run() -> list[Result]:
    """Return append rate, page-time ratios and verification memory ratio."""
    user, _ = User.objects.get_or_create(username="bench-auditor")
    user.groups.set([Group.objects.get(name="viewer")])
    client = Client()
    client.force_login(user)

    started = time.perf_counter()
    for n in range(500):
        audit_record(action="bench.append", message=f"append {n}")
    append_rate = 500 / (time.perf_counter() - started)

    _grow_chain_to(SMALL)
    small_pages = _page_times(client)
    small_verify, small_memory = _verify_cost()
    started = time.perf_counter()
    _grow_chain_to(LARGE)
    build_seconds = time.perf_counter() - started
    large_pages = _page_times(client)
    large_verify, large_memory = _verify_cost()

    results = [
        Result("audit append through audit_record", append_rate, "ev/s", "-"),
        Result(f"bulk-built chain up to {LARGE:,} events", build_seconds, "s", "-"),
    ]
    for label, small in small_pages.items():
        large = large_pages[label]
        results.append(Result(f"/audit/ {label} at {LARGE:,}", large * 1000, "ms", "-"))
        results.append(
            Result(f"  ratio {LARGE:,} / {SMALL:,} events", large / small, "x", "< 3x")
        )
    results += [
        Result(f"audit_verify at {LARGE:,} events", large_verify, "s", "-"),
        Result(
            "  verify time per event ratio",
            (large_verify / LARGE) / (small_verify / SMALL),
            "x",
            "~1x (linear)",
        ),
        Result(f"  verify process peak RSS at {LARGE:,}", large_memory, "MB", "-"),
        Result(
            f"  peak memory ratio {LARGE:,} / {SMALL:,}",
            large_memory / small_memory,
            "x",
            "~1x (streams)",
        ),
    ]
    return results
