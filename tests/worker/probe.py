"""The Celery app a test worker runs: PartnerHub's own, plus one probe task.

The probe sleeps, then writes a key into the Redis the worker's broker uses, so a
test sees that a task ran without any result backend.
"""

from __future__ import annotations

import os
import time

import redis

from partnerhub.celery import app

__all__ = ["PROBE_TASK", "app"]

PROBE_TASK = "tests.worker.probe.mark"


@app.task(name=PROBE_TASK, ignore_result=True)
def mark(key: str, seconds: float = 0.0) -> None:
    """Sleep `seconds`, then set `key` to "done" in the broker's Redis."""
    time.sleep(seconds)
    redis.Redis.from_url(os.environ["CELERY_BROKER_URL"]).set(key, "done")
