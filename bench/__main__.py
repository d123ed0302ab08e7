"""Run every benchmark: `make bench` (or `python -m bench [name ...]`).

Each benchmark reports ratios measured within one run on this machine, so the
numbers compare like with like; none of them is a pass/fail assertion.
The benchmarks use their own database (`var/bench.sqlite3`, recreated each run,
or BENCH_DATABASE_URL) and Redis database 13.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _prepare_environment() -> None:
    db_url = os.environ.get("BENCH_DATABASE_URL")
    if not db_url:
        path = ROOT / "var" / "bench.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        db_url = f"sqlite:///{path}"
    os.environ["DATABASE_URL"] = db_url
    # The bench database's audit chain has its own checkpoint, not the demo's.
    checkpoint = ROOT / "var" / "bench-audit-checkpoint.json"
    checkpoint.unlink(missing_ok=True)
    os.environ["PARTNERHUB_AUDIT_CHECKPOINT_FILE"] = str(checkpoint)
    os.environ["REDIS_URL"] = os.environ.get(
        "BENCH_REDIS_URL", "redis://127.0.0.1:6379/13"
    )
    os.environ["DJANGO_SETTINGS_MODULE"] = "partnerhub.settings"
    os.environ["DJANGO_DEBUG"] = "false"
    os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver,127.0.0.1,localhost"
    os.environ["PARTNERHUB_LOG_LEVEL"] = "WARNING"
    (ROOT / "var" / "static").mkdir(parents=True, exist_ok=True)


def main(argv: list[str]) -> int:
    """Run the named benchmarks (all by default) and print their results."""
    _prepare_environment()
    import django

    django.setup()
    import redis
    from django.conf import settings
    from django.core.management import call_command

    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    call_command("migrate", verbosity=0)

    from django.db import connection

    from bench import (
        audit_log,
        bulk_preview,
        customer_list,
        migrations,
        rate_limit,
        sync,
    )
    from bench.tables import machine, peak_rss_mib, write_readme, write_suite

    suites = {
        "customer_list": customer_list.run,
        "bulk_preview": bulk_preview.run,
        "sync": sync.run,
        "audit": audit_log.run,
        "rate_limit": rate_limit.run,
        "migrations": migrations.run,
    }
    chosen = argv or list(suites)
    unknown = [name for name in chosen if name not in suites]
    if unknown:
        print(f"Unknown benchmark(s): {', '.join(unknown)}. Known: {', '.join(suites)}")
        return 2
    print(f"{'benchmark':<44} {'measured':>14}  target")
    print("-" * 80)
    database = f"{connection.vendor} {_database_version(connection)}"
    for name in chosen:
        started = time.perf_counter()
        results = suites[name]()
        for line in results:
            print(line.render())
        seconds = time.perf_counter() - started
        print(f"  ({name} took {seconds:.1f} s)")
        write_suite(
            name,
            {
                "suite": name,
                "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "seconds": round(seconds, 1),
                "results": [vars(r) for r in results],
                # The in-process suites run the web code here (Django's test client).
                "bench_process_peak_rss_mib": round(peak_rss_mib(), 1),
                "machine": machine(database),
            },
        )
    write_readme()
    print("written: bench/results/*.json and the table in bench/README.md")
    return 0


def _database_version(connection: Any) -> str:
    if connection.vendor == "sqlite":
        import sqlite3

        return sqlite3.sqlite_version
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        return str(cursor.fetchone()[0])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
