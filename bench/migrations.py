"""Migrations through real workers against the rate-limit bound, and their memory.

Runs the chaos harness without chaos (`python -m bench.chaos --no-chaos`): the
sandbox with its latency and rate limit, gunicorn, beat and two Celery workers as
separate processes. The bound is the calls the migrations made divided by the
rate per second: the fastest any number of workers could go.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import Result

ROOT = Path(__file__).resolve().parent.parent


def run() -> list[Result]:
    """Return both runs: at 3,000/min and 100 ms, then at Partner Center's 500/min."""
    count = int(os.environ.get("BENCH_MIGRATIONS", "100"))
    latency = int(os.environ.get("BENCH_MIGRATIONS_LATENCY_MS", "100"))
    rate = int(os.environ.get("BENCH_MIGRATIONS_RATE", "3000"))
    real_count = int(os.environ.get("BENCH_MIGRATIONS_REAL", "100"))
    results = _measure(count, latency, rate)
    if real_count > 0:
        # Partner Center's documented limit and a realistic round trip.
        results += _measure(real_count, 300, 500)
    return results


def _measure(count: int, latency: int, rate: int) -> list[Result]:
    """Return time / bound, 429s, calls per migration and peak RSS per process."""
    concurrency = int(os.environ.get("BENCH_MIGRATIONS_CONCURRENCY", "16"))
    pool = os.environ.get("BENCH_MIGRATIONS_POOL", "threads")
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "migrations.json"
        # The harness makes a database of its own next to the configured one.
        env = dict(os.environ)
        env["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL", "")
        if not env["DATABASE_URL"]:
            env.pop("DATABASE_URL")
        subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.chaos",
                "--no-chaos",
                f"--migrations={count}",
                f"--latency-ms={latency}",
                f"--rate-per-minute={rate}",
                f"--concurrency={concurrency}",
                f"--pool={pool}",
                "--deadline=1800",
                f"--json={out}",
            ],
            cwd=ROOT,
            env=env,
            check=False,
            timeout=3000,
        )
        report = json.loads(out.read_text())
    t = report.get("throughput") or {}
    rss = report.get("peak_rss_mib") or {}
    states = report.get("terminal_states") or {}
    kinds = t.get("calls_by_kind") or {}
    return [
        Result(
            f"{report['migrations']} migrations, {report.get('users_planned')} users, "
            f"{latency} ms, {rate}/min, 2 x {concurrency} {pool}",
            t.get("seconds") or 0,
            "s",
            "-",
        ),
        Result(
            "  rate-limit bound (calls / rate per second)",
            t.get("bound_seconds") or 0,
            "s",
            "-",
        ),
        Result("  time / bound", t.get("ratio_to_bound") or 0, "x", "<= 1.10x"),
        Result(
            "  Partner Center calls per migration",
            t.get("calls_per_migration") or 0,
            "",
            "-",
        ),
        Result("  429 from the rate limit", t.get("429_from_rate_limit") or 0, "", "0"),
        Result(
            "  completed / started",
            states.get("completed", 0) / max(report["migrations"], 1),
            "x",
            "- (failures: see the chaos run's causes)",
        ),
        Result("  peak RSS web (gunicorn, 2 workers)", rss.get("web", 0), "MiB", "-"),
        Result(
            f"  peak RSS worker ({pool} x {concurrency})",
            max(rss.get("worker-a", 0), rss.get("worker-b", 0)),
            "MiB",
            "-",
        ),
        *(
            Result(
                f"  calls: {kind}"[:44],
                number / max(report["migrations"], 1),
                "",
                "per migration",
            )
            for kind, number in list(kinds.items())[:6]
        ),
    ]
