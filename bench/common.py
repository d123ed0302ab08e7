"""Shared helpers for the benchmarks."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

# What a whole page (the desk, the bulk preview) may take at 10,000 customers.
PAGE_BUDGET_MS = 300.0


@dataclass
class Result:
    """One measured figure and the target it is read against."""

    name: str
    value: float
    unit: str
    target: str

    def render(self) -> str:
        shown = f"{self.value:,.2f} {self.unit}".strip()
        return f"{self.name:<44} {shown:>14}  {self.target}"


def median_seconds(action: Callable[[], object], *, repeat: int = 5) -> float:
    """Return the median wall time of `repeat` calls of `action` (one warm-up)."""
    action()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)
