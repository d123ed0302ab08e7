"""`make chaos` / `python -m bench.chaos`: migrations under faults, kills and a Redis restart.

Starts the sandbox, a private `redis-server`, gunicorn, beat and two Celery
workers as separate processes on free 127.0.0.1 ports, against a database of the
run's own (a new PostgreSQL database on the server `DATABASE_URL` names, dropped
afterwards, or a temporary SQLite file). Seeds and syncs the sandbox, starts N
migrations through `migration_start`, and while they run the sandbox injects
latency, 429s with Retry-After, 5xx and committed writes whose answer is lost,
a worker is SIGKILLed every 20-40 s and restarted, and Redis is restarted once.
Then it checks the invariants from the sandbox's state and the database, prints
them, writes `bench/results/chaos.json` and exits 1 if any broke. The sandbox
plays every fidelity switch at its strictest unless `--fidelity` says otherwise
(`matrix`: one run per plausible answer; see bench/chaos/matrix.py).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.chaos.matrix import cell_pairs, run_matrix
from bench.chaos.options import Options
from bench.chaos.procs import (
    ROOT,
    child_env,
    free_port,
    listening,
    make_database,
    redis_child,
    wait_until,
)
from bench.tables import README, RESULTS, machine, write_readme


def _pair(text: str) -> tuple[float, float]:
    low, _, high = text.partition(",")
    return float(low), float(high or low)


def parse(argv: list[str]) -> Any:
    defaults = Options()
    parser = argparse.ArgumentParser(prog="python -m bench.chaos", description=__doc__)
    add = parser.add_argument
    add("--migrations", type=int, default=defaults.migrations)
    add("--customers", type=int, default=0, help="default: enough for --migrations")
    add("--seed", type=int, default=defaults.seed)
    add("--latency-ms", type=int, default=defaults.latency_ms)
    add("--fault-rate", type=float, default=defaults.fault_rate)
    add(
        "--kill-interval", type=_pair, default=defaults.kill_interval, help="LOW,HIGH s"
    )
    add("--max-kills", type=int, default=defaults.max_kills)
    add("--redis-restart-after", type=float, default=defaults.redis_restart_after)
    add("--concurrency", type=int, default=defaults.concurrency, help="per worker")
    add("--pool", choices=("threads", "prefork"), default=defaults.pool)
    add("--rate-per-minute", type=int, default=defaults.rate_per_minute)
    add("--lease-seconds", type=float, default=defaults.lease_seconds)
    add("--deadline", type=float, default=defaults.deadline, help="seconds")
    add("--json", type=Path, default=defaults.json_path)
    add("--no-chaos", action="store_true", help="no faults, kills or Redis restart")
    add(
        "--fidelity",
        default="strictest",
        help="strictest (default), matrix, or name=value,... (sandbox switches)",
    )
    add("--listing-delay", type=float, default=defaults.listing_delay, help="s")
    add("--keep", action="store_true", help="keep the run's folder (logs)")
    args = parser.parse_args(argv)
    return args, Options(
        migrations=args.migrations,
        customers=args.customers,
        seed=args.seed,
        latency_ms=args.latency_ms,
        fault_rate=args.fault_rate,
        kill_interval=args.kill_interval,
        max_kills=args.max_kills,
        redis_restart_after=args.redis_restart_after,
        concurrency=args.concurrency,
        pool=args.pool,
        rate_per_minute=args.rate_per_minute,
        lease_seconds=args.lease_seconds,
        deadline=args.deadline,
        json_path=args.json,
        chaos=not args.no_chaos,
        fidelity=[] if args.fidelity == "matrix" else cell_pairs(args.fidelity),
        listing_delay=args.listing_delay,
    )


def main(argv: list[str]) -> int:
    """Run one chaos run; return 0 if every invariant held, 1 otherwise."""
    args, opts = parse(argv)
    if args.fidelity == "matrix":
        return run_matrix(argv, opts.json_path)
    workdir = Path(tempfile.mkdtemp(prefix="partnerhub-chaos-"))
    ports = {name: free_port() for name in ("redis", "sandbox", "web")}
    redis_url = f"redis://127.0.0.1:{ports['redis']}/0"
    database = make_database(os.environ.get("DATABASE_URL"), workdir)
    env = _run_env(opts, ports, database.url, workdir, redis_url)
    # This process syncs before the chaos starts, as fast as the sandbox answers.
    os.environ.update(env | {"PARTNER_CENTER_RATE_LIMIT_PER_MINUTE": "1000000"})
    from bench.chaos.procs import Child

    redis = redis_child(ports["redis"], workdir)
    redis.start()
    report: dict[str, Any] = {}
    cluster = None
    try:
        wait_until(lambda: listening(ports["redis"]), 20, "Redis")
        import django

        django.setup()
        from django.core.management import call_command

        from bench.chaos.run import Cluster, run

        call_command("migrate", verbosity=0)
        cluster = Cluster(workdir=workdir, env=env, redis=redis)
        cluster.note(f"database {database.vendor}, Redis {redis_url}, folder {workdir}")
        report = run(cluster, opts, ports)
    finally:
        children: list[Child] = cluster.children() if cluster else [redis]
        for child in children:
            child.stop(grace=10)
        if cluster is not None:
            from django.db import connections

            connections.close_all()
        database.drop()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    _write_report(report, opts, database.vendor)
    return 1 if report.get("broken") else 0


def _run_env(
    opts: Options,
    ports: dict[str, int],
    database_url: str,
    workdir: Path,
    redis_url: str,
) -> dict[str, str]:
    """Return the environment of every process of the run."""
    return child_env(
        {
            k: v
            for k, v in os.environ.items()
            if k not in {"PARTNER_CENTER_API_URL", "PARTNER_CENTER_TOKEN_URL"}
        },
        {
            "DJANGO_SETTINGS_MODULE": "partnerhub.settings",
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "CELERY_BROKER_URL": redis_url,
            "PARTNER_CENTER_MODE": "sandbox",
            "SANDBOX_URL": f"http://127.0.0.1:{ports['sandbox']}",
            "PARTNER_CENTER_RATE_LIMIT_PER_MINUTE": str(opts.rate_per_minute),
            "PARTNER_CENTER_TIMEOUT_SECONDS": str(opts.client_timeout),
            "PARTNERHUB_MIGRATION_LEASE_SECONDS": str(opts.lease_seconds),
            "PARTNERHUB_REQUEUE_EVERY_SECONDS": "2",
            "PARTNERHUB_PROVISIONING_POLL_SECONDS": "1",
            "PARTNERHUB_ORDER_LISTING_DELAY_SECONDS": str(opts.listing_delay),
            "PARTNERHUB_SYNC_EVERY_MINUTES": "1440",
            "PARTNERHUB_VAR_DIR": str(workdir),
            "PARTNERHUB_LOG_LEVEL": "WARNING",
            "PARTNERHUB_DEMO_ACCOUNTS": "false",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "PYTHONUNBUFFERED": "1",
        },
    )


def _write_report(report: dict[str, Any], opts: Options, vendor: str) -> None:
    """Complete the report, write its JSON (and the README table), print it."""
    report["database"] = vendor
    report["machine"] = machine(vendor)
    report["code"] = code_state()
    report["finished_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    opts.json_path.parent.mkdir(parents=True, exist_ok=True)
    opts.json_path.write_text(json.dumps(report, indent=2, default=str) + "\n")
    from bench.chaos.report import render

    print(render(report))
    print(f"written: {_shown(opts.json_path)}")
    if opts.json_path.resolve() == (RESULTS / "chaos.json").resolve():
        write_readme()
        print(f"updated: {_shown(README)}")


def code_state() -> dict[str, Any]:
    """Return the commit the run's code is at and the files changed since."""

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False
        )
        return done.stdout.strip()

    changed = [line[3:] for line in git("status", "--porcelain").splitlines()]
    return {
        "commit": git("rev-parse", "--short", "HEAD") or "unknown",
        "uncommitted": [
            p for p in changed if not p.startswith(("bench/", "tests/chaos"))
        ],
    }


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
