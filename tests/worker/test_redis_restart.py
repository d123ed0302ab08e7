"""A real Celery worker keeps working when the Redis it uses is restarted.

The worker runs PartnerHub's Celery app with the Procfile's own command (threads
pool) against a private `redis-server` on a free loopback port. A task is in flight
when Redis stops; Redis comes back empty (as `docker compose restart redis` or a
crash without persistence leaves it). The worker must still be running, answer
a ping and run a new task. Every process is ended with its process group, even
when the test fails.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from celery import Celery

from tests.worker.probe import PROBE_TASK

ROOT = Path(__file__).resolve().parents[2]
REDIS_SERVER = "redis-server"

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    """End `process` and everything in its process group (TERM, then KILL)."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        except ProcessLookupError:
            pass
    with contextlib.suppress(ProcessLookupError):  # children left in the group
        os.killpg(process.pid, signal.SIGKILL)


def _wait_for(predicate: Callable[[], Any], seconds: float, what: str) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"Timed out waiting for {what}")


class Processes:
    """The processes a test started, each in a process group of its own."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.started: list[subprocess.Popen[bytes]] = []

    def start(
        self, name: str, command: list[str], env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        log = (self.tmp / f"{name}.log").open("ab")
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.started.append(process)
        return process

    def log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text(errors="replace")


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    started = Processes(tmp_path)
    try:
        yield started
    finally:
        for process in reversed(started.started):
            _stop_group(process)


def _redis(processes: Processes, port: int) -> subprocess.Popen[bytes]:
    """Start an empty, non-persistent Redis on `port`; return it once it answers."""
    server = processes.start(
        "redis",
        [
            REDIS_SERVER,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(processes.tmp),
        ],
    )
    client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1)

    def answers() -> bool:
        try:
            return bool(client.ping())
        except redis.ConnectionError:
            return False

    _wait_for(answers, 10, "redis-server to answer")
    return server


def procfile_worker(port: int) -> list[str]:
    """Return the Procfile's worker command, running the probe app beside ours.

    `tests.worker.probe` is PartnerHub's Celery app with one more task, so the
    worker restarted here is the one production runs (pool, concurrency, log).
    """
    [line] = [
        line.split(":", 1)[1]
        for line in (ROOT / "Procfile").read_text().splitlines()
        if line.startswith("worker:")
    ]
    command = shlex.split(line)
    assert command[:3] == ["celery", "-A", "partnerhub"], command
    celery = str(Path(sys.executable).with_name("celery"))
    return [celery, "-A", "tests.worker.probe", *command[3:], "-n", f"r{port}@%h"]


def _worker_env(url: str, tmp: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "partnerhub.settings",
        "DATABASE_URL": f"sqlite:///{tmp / 'worker.sqlite3'}",
        "REDIS_URL": url,
        "CELERY_BROKER_URL": url,
        "PARTNERHUB_VAR_DIR": str(tmp),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DJANGO_DEBUG", None)
    return env


def _ping(sender: Celery) -> bool:
    try:
        return bool(sender.control.ping(timeout=1.0))
    except Exception:  # the broker may still be coming back
        return False


def test_a_worker_with_a_task_in_flight_survives_a_redis_restart(
    processes: Processes,
) -> None:
    port = _free_port()
    url = f"redis://127.0.0.1:{port}/0"
    server = _redis(processes, port)
    worker = processes.start(
        "worker", procfile_worker(port), env=_worker_env(url, processes.tmp)
    )
    sender = Celery("sender", broker=url)
    store = redis.Redis.from_url(url)
    _wait_for(lambda: _ping(sender), 60, "the worker to answer a ping")
    sender.send_task(PROBE_TASK, args=["before", 0])
    _wait_for(lambda: store.get("before"), 20, "a task before the restart")

    # A task is running (its message unacknowledged) when Redis goes away.
    sender.send_task(PROBE_TASK, args=["in-flight", 4])
    _wait_for(
        lambda: processes.log("worker").count(f"{PROBE_TASK}[") >= 3,
        20,
        "the worker to take the task",
    )
    _stop_group(server)
    time.sleep(1)
    _redis(processes, port)

    _wait_for(lambda: _ping(sender), 60, "the worker to reconnect")
    sender.send_task(PROBE_TASK, args=["after", 0])
    _wait_for(lambda: store.get("after"), 30, "a task after the restart")
    # The task that was running finished too, and the worker is still up.
    _wait_for(lambda: store.get("in-flight"), 30, "the in-flight task to end")
    time.sleep(2)
    assert worker.poll() is None, processes.log("worker")[-4000:]
    assert "Unrecoverable error" not in processes.log("worker")
