"""Two workers sharing the Redis token bucket: the rate they achieve vs the limit."""

from __future__ import annotations

import threading
import time

from django.conf import settings

from bench.common import Result
from partner_center.ratelimit import RedisRateLimiter

RATE_PER_MINUTE = 1200
BURST = 10
SECONDS = 6.0


def run() -> list[Result]:
    """Return the achieved rate as a fraction of the configured one."""
    key = f"bench:ratelimit:{time.time()}"
    taken = [0, 0]
    stop_at = time.monotonic() + SECONDS

    def worker(index: int) -> None:
        limiter = RedisRateLimiter(
            settings.REDIS_URL, key, rate_per_minute=RATE_PER_MINUTE, burst=BURST
        )
        while time.monotonic() < stop_at:
            wait = limiter.try_acquire()
            if wait == 0:
                taken[index] += 1
            else:
                time.sleep(min(wait, 0.05))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    allowed = RATE_PER_MINUTE / 60 * SECONDS + BURST
    total = sum(taken)
    return [
        Result(
            "rate limiter: calls let through in 6 s",
            total,
            "calls",
            f"<= {allowed:.0f}",
        ),
        Result("  achieved / allowed", total / allowed, "x", "<= 1.00x, >= 0.90x"),
        Result(
            "  split between the two workers",
            min(taken) / max(max(taken), 1),
            "x",
            "fair: > 0.5x",
        ),
    ]
