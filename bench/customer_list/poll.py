"""The progress poll with 200 running migrations: idle, with rows changing
between polls, and while another process saves rows, against its bound."""

from __future__ import annotations

import html
import random
import re
import statistics
import subprocess
import sys
import threading
import time

from django.db import connection
from django.db.models import F
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bench.common import Result
from bench.customer_list.estate import RUNNING, running_migrations
from bench.customer_list.timing import checked_get, p95_ms, query_count, timed_ms
from migrations_app.models import Migration

POLL_BOUND_MS = 10.0


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
            "from bench.customer_list.poll import busy_worker; busy_worker(sys.argv[1:])"
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


def _changing_polls(
    client: Client, url: str, pks: list[int], repeat: int
) -> tuple[list[float], list[int], int, str]:
    """Poll while 5 of the rows change between polls; return the times (ms), the
    answer sizes, the most queries one poll made, and the next poll's URL."""
    # The page follows the poller the answer carries, as htmx does.
    rng = random.Random(3)
    samples: list[float] = []
    sizes: list[int] = []
    queries = 0
    for _ in range(repeat * 2):
        _bump(rng.sample(pks, 5))
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url)
            samples.append((time.perf_counter() - started) * 1000)
        queries = max(queries, len(captured.captured_queries))
        assert response.status_code == 200, response.status_code
        sizes.append(len(response.content))
        url = _next_poll(response.content, url)
    return samples, sizes, queries, url


def _busy_polls(
    client: Client, url: str, pks: list[int], repeat: int
) -> tuple[list[float], int, int, str]:
    """Poll while another process saves rows (204s and answers); return the times
    (ms), how many polls answered with rows, the saves made, and the next URL."""
    samples: list[float] = []
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
    return samples, answered, busy.saves, url


def poll_results(client: Client, repeat: int) -> list[Result]:
    """The poll over RUNNING migrations: idle, changing, busy and all ended."""
    migrations = running_migrations()
    versions = {m.pk: m.version for m in migrations}
    pks = list(versions)
    idle = checked_get(client, _poll_url(versions), status=204)
    idle_p95, idle_median = timed_ms(idle, repeat * 2)
    idle_queries = query_count(idle)

    url = _poll_url(versions)
    samples, sizes, changing_queries, url = _changing_polls(client, url, pks, repeat)
    changing_p95, changing_median = p95_ms(samples), statistics.median(samples)
    samples, answered, saves, url = _busy_polls(client, url, pks, repeat)
    busy_p95, busy_median = p95_ms(samples), statistics.median(samples)
    versions = dict(Migration.objects.filter(pk__in=pks).values_list("pk", "version"))

    # Every row ended since the page last polled (the largest answer).
    Migration.objects.filter(pk__in=pks).update(state="completed")
    _bump(pks)
    ended = checked_get(client, _poll_url(versions))
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
            f"  p95 / bound (busy; median {busy_median:.1f} ms, {saves} saves, "
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
