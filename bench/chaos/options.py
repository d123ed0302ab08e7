"""The knobs of a chaos run (free of Django, so the command line can read them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Options:
    migrations: int = 300
    customers: int = 0  # 0: enough for `migrations`
    seed: int = 1
    latency_ms: int = 50
    fault_rate: float = 0.05
    kill_interval: tuple[float, float] = (20.0, 40.0)
    max_kills: int = 1000
    redis_restart_after: float = 45.0
    redis_down_seconds: float = 2.0
    concurrency: int = 16
    pool: str = "threads"  # the Celery worker pool: threads or prefork
    rate_per_minute: int = 3000
    lease_seconds: float = 15.0
    client_timeout: float = 8.0
    deadline: float = 1200.0
    json_path: Path = ROOT / "bench" / "results" / "chaos.json"
    chaos: bool = True  # False: no faults, kills or Redis restart (throughput)
    # The sandbox's fidelity switches (name=value); empty: every one at its
    # strictest. The order listing delay is scaled to `listing_delay` seconds on
    # both sides (Partner Center: 15 minutes).
    fidelity: list[str] = field(default_factory=list)
    listing_delay: float = 3.0
