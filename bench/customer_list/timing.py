"""How the benchmark measures: p95 and median of repeated calls, queries per call,
and a logged-in client's GET that checks its status."""

from __future__ import annotations

import math
import os
import statistics
import time
from collections.abc import Callable

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext


def requests_per_figure() -> int:
    """Return how many samples each figure takes (BENCH_LIST_REQUESTS)."""
    return int(os.environ.get("BENCH_LIST_REQUESTS", "20"))


def p95_ms(samples: list[float]) -> float:
    """Return the 95th percentile of `samples` (nearest rank)."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def timed_ms(action: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Return the p95 and median milliseconds of `repeat` calls (one warm-up)."""
    action()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return p95_ms(samples), statistics.median(samples)


def query_count(action: Callable[[], object]) -> int:
    """Return how many queries one call of `action` makes."""
    with CaptureQueriesContext(connection) as captured:
        action()
    return len(captured.captured_queries)


def checked_get(client: Client, url: str, status: int = 200) -> Callable[[], bytes]:
    """Return a call that GETs `url`, checks its status and returns the body."""

    def get() -> bytes:
        response = client.get(url)
        assert response.status_code == status, (url, response.status_code)
        return response.content

    return get
