"""One chaos run: real processes, injected faults, kills, a Redis restart, then checks.

`bench.chaos.__main__` prepares the environment (the run's database, a private
Redis) before Django is set up; everything here runs after `django.setup()`.
"""

from __future__ import annotations

import random
import re
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import requests
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db.models import Max, Min

from bench.chaos.checks import check_run
from bench.chaos.faults import SandboxControl, fault_rules
from bench.chaos.options import Options
from bench.chaos.procs import (
    PY,
    ROOT,
    Child,
    listening,
    wait_until,
)
from migrations_app.domain.plan import migration_plan
from migrations_app.models import TERMINAL_STATES, Customer, Migration
from migrations_app.services.migrations import StartItem, migration_start
from migrations_app.services.sync import sync_run

TICK = 1.0


@dataclass
class Cluster:
    """The processes of a run and what happened to them."""

    workdir: Path
    env: dict[str, str]
    redis: Child
    sandbox: Child | None = None
    web: Child | None = None
    beat: Child | None = None
    workers: list[Child] = field(default_factory=list)
    redis_restarts: int = 0
    events: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def children(self) -> list[Child]:
        found = [self.sandbox, self.web, self.beat, *self.workers, self.redis]
        return [c for c in found if c is not None]

    def note(self, text: str) -> None:
        line = f"[chaos {time.monotonic() - self.started:6.1f}s] {text}"
        self.events.append(line)
        print(line, flush=True)

    def spawn(self, name: str, command: list[str]) -> Child:
        child = Child(name, command, self.env, self.workdir / f"{name}.log")
        child.start()
        return child


def customers_for(migrations: int) -> int:
    """Return how many sandbox customers hold about `migrations` usable plan items.

    About one generated customer in three has a retired subscription PartnerHub
    can buy a target for (seed 1: 63 items among 200 customers).
    """
    return max(40, int(migrations * 3.6) + 20)


def start_children(cluster: Cluster, opts: Options, web_port: int) -> None:
    """Start web, beat and two workers against the run's Redis and database."""
    cluster.web = cluster.spawn(
        "web",
        [
            PY,
            "-m",
            "gunicorn",
            "partnerhub.wsgi",
            "--bind",
            f"127.0.0.1:{web_port}",
            "--workers",
            "2",
        ],
    )
    cluster.beat = cluster.spawn(
        "beat",
        [
            PY,
            "-m",
            "celery",
            "-A",
            "partnerhub",
            "beat",
            "--loglevel",
            "WARNING",
            "--schedule",
            str(cluster.workdir / "beat-schedule"),
        ],
    )
    for name in ("worker-a", "worker-b"):
        cluster.workers.append(cluster.spawn(name, worker_command(name, opts)))
    wait_until(lambda: listening(web_port), 60, "the web server")


def worker_command(name: str, opts: Options) -> list[str]:
    return [
        PY,
        "-m",
        "celery",
        "-A",
        "partnerhub",
        "worker",
        "--pool",
        opts.pool,
        "--concurrency",
        str(opts.concurrency),
        f"--hostname={name}@%h",
        "--without-gossip",
        "--without-mingle",
        "--loglevel",
        "WARNING",
    ]


def chaos_operator() -> User:
    user, _ = User.objects.get_or_create(username="chaos-operator")
    user.groups.add(Group.objects.get(name="operator"))
    return user


def start_migrations(count: int, actor: User) -> list[int]:
    """Start up to `count` migrations from customers' plans, one batch per customer.

    Every item whose default target can be bought is taken. Legacy subscriptions
    alternate between suspending and letting expire; new-commerce ones expire
    (suspending one keeps billing). Return the migration ids.
    """
    ids: list[int] = []
    for customer in Customer.objects.order_by("pk"):
        if len(ids) >= count:
            break
        plan = migration_plan(customer=customer)
        items = []
        for item in plan.items:
            target = item.default_target
            if target is None or target.problem or len(ids) + len(items) >= count:
                continue
            modes = [mode for mode, _ in item.retire_choices]
            mode = (
                "expire" if item.subscription.is_nce else modes[len(ids) % len(modes)]
            )
            items.append(
                StartItem(
                    plan=item,
                    target=target,
                    quantity=item.default_quantity,
                    retire_mode=mode if mode in modes else modes[0],
                )
            )
        if items:
            created = migration_start(customer=customer, items=items, actor=actor)
            ids.extend(m.pk for m in created)
    return ids


def _open_count(ids: list[int]) -> Counter[str]:
    return Counter(Migration.objects.filter(pk__in=ids).values_list("state", flat=True))


def _restart_redis(cluster: Cluster, opts: Options, port: int) -> None:
    cluster.redis.stop(grace=10)
    cluster.note(f"Redis stopped; restarting in {opts.redis_down_seconds:.0f} s")
    time.sleep(opts.redis_down_seconds)
    cluster.redis.start()
    wait_until(lambda: listening(port), 30, "Redis to listen again")
    cluster.redis_restarts += 1
    cluster.note("Redis is back (empty: every queued message was lost)")


def drive(cluster: Cluster, opts: Options, ids: list[int], redis_port: int) -> float:
    """Run until every migration is terminal or the deadline; return the seconds."""
    rng = random.Random(opts.seed)
    started = time.monotonic()
    deadline = started + opts.deadline
    next_kill = started + rng.uniform(*opts.kill_interval)
    redis_at = started + opts.redis_restart_after
    kills = 0
    last_report = 0.0
    while time.monotonic() < deadline:
        now = time.monotonic()
        for child in cluster.children():
            child.sample()
            if child.process is not None and not child.alive():
                child.unexpected_exits += 1
                cluster.note(
                    f"{child.name} exited by itself ({child.process.returncode}); "
                    "restarting it"
                )
                child.start()
        states = _open_count(ids)
        running = sum(n for s, n in states.items() if s not in TERMINAL_STATES)
        if now - last_report >= 10 or not running:
            last_report = now
            shown = ", ".join(f"{s} {n}" for s, n in sorted(states.items()))
            cluster.note(f"{len(ids)} migrations: {shown}")
        if not running:
            break
        if opts.chaos and now >= next_kill and kills < opts.max_kills:
            victim = cluster.workers[kills % len(cluster.workers)]
            victim.kill()
            kills += 1
            cluster.note(f"SIGKILLed {victim.name} (pid {victim.pid}); restarting it")
            victim.start()
            next_kill = now + rng.uniform(*opts.kill_interval)
        if opts.chaos and cluster.redis_restarts == 0 and now >= redis_at:
            _restart_redis(cluster, opts, redis_port)
        time.sleep(TICK)
    return time.monotonic() - started


def _iso(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def throughput(dump: dict[str, Any], ids: list[int], rate: int) -> dict[str, Any]:
    """Return the migration phase's calls, time and ratio to the rate-limit bound.

    The phase runs from the first migration's creation to the last one's end; the
    calls are every /v1 call the sandbox logged in that time (429s included).
    """
    span = Migration.objects.filter(pk__in=ids).aggregate(
        begin=Min("created_at"), end=Max("finished_at")
    )
    if span["begin"] is None or span["end"] is None:
        return {}
    calls = [
        r for r in dump["requests"] if span["begin"] <= _iso(r["at"]) <= span["end"]
    ]
    seconds = (span["end"] - span["begin"]).total_seconds()
    bound = len(calls) / (rate / 60)
    statuses = Counter(int(r["status"]) for r in calls)
    return {
        "seconds": round(seconds, 1),
        "calls": len(calls),
        "rate_per_minute": rate,
        "bound_seconds": round(bound, 1),
        "ratio_to_bound": round(seconds / bound, 3) if bound else None,
        "calls_per_migration": round(len(calls) / max(len(ids), 1), 1),
        "429_from_rate_limit": sum(
            1 for r in calls if int(r["status"]) == 429 and not r.get("fault")
        ),
        "429_injected": sum(
            1 for r in calls if int(r["status"]) == 429 and r.get("fault")
        ),
        "5xx": sum(n for s, n in statuses.items() if s >= 500),
        "calls_by_kind": dict(Counter(_call_kind(r) for r in calls).most_common(12)),
    }


_ID = re.compile(r"/[0-9a-fA-F-]{16,}|/[^/]*\d[^/]*")


def _call_kind(request: dict[str, Any]) -> str:
    """Return the call's method and path with every id replaced by {id}."""
    path = str(request["path"]).split("?")[0].removeprefix("/v1")
    return f"{request['method']} {_ID.sub('/{id}', path)}"


def audit_verify(env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run(
        [PY, "manage.py", "audit_verify"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    return {
        "exit_code": done.returncode,
        "message": (done.stdout + done.stderr).strip()[-500:],
    }


def _start_sandbox(cluster: Cluster, opts: Options, port: int, customers: int) -> None:
    """Start the sandbox seeded with `customers`, at the run's fidelity."""
    cluster.sandbox = cluster.spawn(
        "sandbox",
        [
            PY,
            "-m",
            "sandbox",
            "--port",
            str(port),
            "--customers",
            str(customers),
            "--seed",
            str(opts.seed),
            "--rate-limit",
            "0",
            "--provisioning-delay",
            "2",
            "--fidelity",
            f"order_listing_delay_seconds={opts.listing_delay}",
            *[arg for pair in opts.fidelity for arg in ("--fidelity", pair)],
            "--quiet",
        ],
    )
    wait_until(lambda: listening(port), 60, "the sandbox")


def run(cluster: Cluster, opts: Options, ports: dict[str, int]) -> dict[str, Any]:
    """Seed, sync, start the migrations under chaos and return the report."""
    customers = opts.customers or customers_for(opts.migrations)
    control = SandboxControl(settings.SANDBOX_URL)
    _start_sandbox(cluster, opts, ports["sandbox"], customers)
    cluster.note(f"sandbox seeded with {customers} customers; syncing")
    sync = sync_run()
    cluster.note(f"sync {sync.status}: {sync.calls_made} calls")
    before = control.state()
    orders_before = {str(o["id"]).lower() for o in before["orders"]}
    statuses_before = {
        str(s["id"]).lower(): str(s.get("status", "")).lower()
        for s in before["subscriptions"]
    }
    del before
    start_children(cluster, opts, ports["web"])
    control.settings(
        rate_limit_per_minute=opts.rate_per_minute, latency_ms=opts.latency_ms
    )
    rules = fault_rules(opts.fault_rate, opts.seed, int(opts.client_timeout * 1500))
    if opts.chaos:
        for rule in rules:
            control.add_fault(rule)
    ids = start_migrations(opts.migrations, chaos_operator())
    cluster.note(f"started {len(ids)} migrations")
    seconds = drive(cluster, opts, ids, ports["redis"])
    healthy = requests.get(f"http://127.0.0.1:{ports['web']}/healthz", timeout=10)
    fired = [
        {k: r.get(k) for k in ("method", "path", "action", "matched", "fired")}
        for r in control.faults()
    ]
    control.clear_faults()
    for child in [cluster.web, cluster.beat, *cluster.workers]:
        if child is not None:
            child.stop()
    dump = control.state()
    findings = check_run(
        migration_ids=ids,
        dump=dump,
        orders_before=orders_before,
        statuses_before=statuses_before,
    )
    verified = audit_verify(cluster.env)
    if verified["exit_code"] != 0:
        findings.fail("audit_verify passes", [verified["message"]])
    return {
        "options": {
            k: (str(v) if isinstance(v, Path) else v) for k, v in vars(opts).items()
        },
        "customers": customers,
        "migrations": len(ids),
        "seconds": round(seconds, 1),
        "web_healthz": healthy.status_code,
        **_process_figures(cluster),
        "faults": fired,
        "throughput": throughput(dump, ids, opts.rate_per_minute),
        "audit_verify": verified,
        **findings.figures,
        "broken": findings.broken,
        "events": cluster.events,
    }


def _process_figures(cluster: Cluster) -> dict[str, Any]:
    """Return the kills, restarts, unexpected exits and peak memory of the run."""
    return {
        "kills": sum(w.kills for w in cluster.workers),
        "redis_restarts": cluster.redis_restarts,
        "unexpected_exits": {
            c.name: c.unexpected_exits for c in cluster.children() if c.unexpected_exits
        },
        "peak_rss_mib": {
            c.name: round(c.peak_rss / 2**20, 1) for c in cluster.children()
        },
    }
