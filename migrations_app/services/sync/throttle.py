"""Honouring 429s during a sync run: Retry-After slept out within a run's budget."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from partner_center.errors import Throttled

# A 429 is honoured by sleeping its Retry-After, within these bounds per run.
THROTTLE_SLEEP_BUDGET_SECONDS = 120.0
THROTTLE_MAX_SINGLE_WAIT_SECONDS = 60.0
THROTTLE_MAX_ATTEMPTS = 3


@dataclass
class ThrottleBudget:
    """Seconds a run may spend sleeping on Retry-After before giving up."""

    remaining: float = THROTTLE_SLEEP_BUDGET_SECONDS
    slept: float = 0.0
    deadline: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait(self, retry_after: float) -> bool:
        """Sleep `retry_after` and return True, or return False if over budget.

        Threads of one run share the budget: each wait is taken from it before
        sleeping.
        """
        wait = max(0.0, retry_after)
        with self.lock:
            if wait > THROTTLE_MAX_SINGLE_WAIT_SECONDS or wait > self.remaining:
                return False
            if self.deadline is not None and time.monotonic() + wait > self.deadline:
                return False
            self.remaining -= wait
            self.slept += wait
        time.sleep(wait)
        return True


def with_throttle_retries(budget: ThrottleBudget, action: Callable[[], Any]) -> Any:
    """Return action(), sleeping out 429s within the run's budget.

    Raise the last Throttled when the budget or the attempts run out.
    """
    attempt = 0
    while True:
        try:
            return action()
        except Throttled as exc:
            attempt += 1
            if attempt >= THROTTLE_MAX_ATTEMPTS or not budget.wait(exc.retry_after):
                raise
