"""The chaos run's processes: a private Redis, the database, and supervised children.

Every child is started in a session of its own, so SIGKILL reaches the whole tree
(a prefork worker and its pool children) and nothing outlives the run. Everything
listens on 127.0.0.1 on ports the kernel hands out.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from urllib.parse import quote, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
LOOPBACK = "127.0.0.1"
PY = sys.executable


def free_port() -> int:
    """Return a TCP port on the loopback that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def listening(port: int, timeout: float = 0.3) -> bool:
    try:
        with socket.create_connection((LOOPBACK, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_until(
    predicate: Callable[[], bool], seconds: float, what: str, step: float = 0.2
) -> None:
    """Return once `predicate` holds; raise RuntimeError after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(step)
    raise RuntimeError(f"timed out after {seconds:.0f} s waiting for {what}")


# ---------------------------------------------------------------- process trees


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            text = Path(f"/proc/{pid}/task/{task}/children").read_text()
        except OSError:
            continue
        found.extend(int(child) for child in text.split())
    return found


def tree_rss_bytes(pid: int) -> int:
    """Return the resident memory of `pid` and all its descendants (Linux /proc)."""
    total, todo, seen = 0, [pid], set()
    while todo and len(seen) < 256:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
                    break
        except OSError:
            continue
        todo.extend(_children(current))
    return total


@dataclass
class Child:
    """One supervised process (a web server, a worker, beat, the sandbox, Redis)."""

    name: str
    command: list[str]
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    kills: int = 0
    unexpected_exits: int = 0
    peak_rss: int = 0
    _log: IO[bytes] | None = field(default=None, repr=False)

    def start(self) -> None:
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.command,
            cwd=ROOT,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.starts += 1

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def sample(self) -> None:
        if self.alive():
            self.peak_rss = max(self.peak_rss, tree_rss_bytes(self.pid))

    def signal_group(self, signum: int) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signum)

    def kill(self) -> None:
        """SIGKILL the whole process tree and reap it."""
        self.signal_group(signal.SIGKILL)
        if self.process is not None:
            self.process.wait(timeout=30)
        self.kills += 1

    def stop(self, grace: float = 15.0) -> None:
        """SIGTERM the tree, then SIGKILL whatever is left after `grace` seconds."""
        if self.process is None:
            return
        if self.alive():
            self.signal_group(signal.SIGTERM)
            try:
                self.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.signal_group(signal.SIGKILL)
                self.process.wait(timeout=30)
        # Pool children that outlived their parent still carry the session id.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        if self._log is not None:
            self._log.close()
            self._log = None


# ---------------------------------------------------------------- Redis


def redis_child(port: int, workdir: Path) -> Child:
    """Return a private `redis-server` on `port` that keeps nothing on disk."""
    server = shutil.which("redis-server")
    if server is None:
        raise RuntimeError("redis-server is not installed; the chaos run needs one")
    return Child(
        name="redis",
        command=[
            server,
            "--bind",
            LOOPBACK,
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        env=dict(os.environ),
        log_path=workdir / "redis.log",
    )


# ---------------------------------------------------------------- the database


@dataclass
class Database:
    """The run's own database: a fresh PostgreSQL database or a SQLite file."""

    url: str
    vendor: str
    drop: Callable[[], None]


def _postgres_admin_url(url: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/postgres", query=""))


def make_database(configured: str | None, workdir: Path) -> Database:
    """Create the run's database next to the configured one.

    With a PostgreSQL `configured` URL, a new database on the same server (dropped
    afterwards: the configured one is never touched); otherwise a SQLite file in
    `workdir`.
    """
    if configured and urlsplit(configured).scheme.lower() in {
        "postgres",
        "postgresql",
        "pgsql",
    }:
        import psycopg

        name = f"partnerhub_chaos_{uuid.uuid4().hex[:10]}"
        admin = _postgres_admin_url(configured)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')

        def drop() -> None:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

        url = urlunsplit(urlsplit(configured)._replace(path=f"/{quote(name)}"))
        return Database(url=url, vendor="postgresql", drop=drop)
    path = workdir / "chaos.sqlite3"
    return Database(url=f"sqlite:///{path}", vendor="sqlite", drop=lambda: None)


def child_env(base: Mapping[str, str], extra: Mapping[str, str]) -> dict[str, str]:
    """Return a child's environment: `base` without DEBUG, plus `extra`."""
    env = {k: v for k, v in base.items() if k not in {"DJANGO_DEBUG"}}
    env.update(extra)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT), *filter(None, [base.get("PYTHONPATH", "")])]
    )
    return env
