"""`make run`: start the sandbox, web, worker and beat in the foreground.

Ctrl-C stops them all. Redis must be reachable; a local `redis-server` is started
when none answers and one is installed.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable

REDIS_MISSING = """\
PartnerHub needs Redis (the Celery broker and the shared Partner Center rate limit),
but nothing answers at {url} and no `redis-server` program is installed. Install
Redis (for example `apt-get install redis-server`) or start one, or point REDIS_URL
at a running server, then run `make run` again."""


def _reachable(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _wait_for(host: str, port: int, what: str, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if _reachable(host, port):
            return
        time.sleep(0.2)
    raise SystemExit(f"{what} did not start listening on {host}:{port}.")


def _raise_keyboard_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    """Run every PartnerHub process until Ctrl-C; return the exit status."""
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "partnerhub.settings")
    env.setdefault("PYTHONUNBUFFERED", "1")
    # The sandbox allows a demo-friendly rate; the live default stays 500/min.
    env.setdefault("PARTNER_CENTER_RATE_LIMIT_PER_MINUTE", "3000")
    customers = env.get("PARTNERHUB_DEMO_CUSTOMERS", "200")
    mode = env.get("PARTNER_CENTER_MODE", "sandbox")
    children: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(name: str, args: list[str], log: Path | None = None) -> None:
        print(f"[run] starting {name}: {' '.join(args)}", flush=True)
        output = None
        if log is not None:
            log.parent.mkdir(parents=True, exist_ok=True)
            output = log.open("ab")
            print(f"[run] {name} logs to {log.relative_to(ROOT)}", flush=True)
        children.append(
            (
                name,
                subprocess.Popen(args, cwd=ROOT, env=env, stdout=output, stderr=output),
            )
        )

    def stop_all() -> None:
        for _, proc in reversed(children):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for _, proc in children:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()

    # Ctrl-C and `kill` both stop everything, even when started in the background
    # (where a shell hands SIGINT down as ignored).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    redis = urlsplit(env.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    redis_host, redis_port = redis.hostname or "127.0.0.1", redis.port or 6379
    try:
        if not _reachable(redis_host, redis_port):
            server = shutil.which("redis-server")
            if server is None:
                print(
                    REDIS_MISSING.format(
                        url=env.get("REDIS_URL", "redis://127.0.0.1:6379/0")
                    )
                )
                return 1
            start(
                "redis",
                [
                    server,
                    "--bind",
                    redis_host,
                    "--port",
                    str(redis_port),
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ],
            )
            _wait_for(redis_host, redis_port, "Redis")

        busy = [
            port for port in (8000, 8001) if _reachable("127.0.0.1", port, timeout=0.3)
        ]
        if busy:
            ports = " and ".join(str(port) for port in busy)
            print(
                f"Port {ports} on 127.0.0.1 is already in use. Is another PartnerHub "
                "(or another server) running? Stop it and run `make run` again."
            )
            return 1
        subprocess.run(
            [PY, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env, check=True
        )
        subprocess.run(
            [PY, "manage.py", "ensure_demo_accounts"], cwd=ROOT, env=env, check=True
        )

        if mode == "sandbox":
            start(
                "sandbox",
                [
                    PY,
                    "-m",
                    "sandbox",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    "8001",
                    "--customers",
                    customers,
                    "--seed",
                    env.get("PARTNERHUB_DEMO_SEED", "1"),
                ],
                log=ROOT / "var" / "sandbox.log",
            )
            _wait_for("127.0.0.1", 8001, "The sandbox")
        start(
            "worker",
            [
                PY,
                "-m",
                "celery",
                "-A",
                "partnerhub",
                "worker",
                "--loglevel",
                "INFO",
                "--concurrency",
                "2",
            ],
        )
        start(
            "beat",
            [
                PY,
                "-m",
                "celery",
                "-A",
                "partnerhub",
                "beat",
                "--loglevel",
                "INFO",
                "--schedule",
                str(ROOT / "var" / "celerybeat-schedule"),
            ],
        )
        start("web", [PY, "manage.py", "runserver", "127.0.0.1:8000", "--noreload"])
        _wait_for("127.0.0.1", 8000, "The web server")
        subprocess.run(
            [PY, "manage.py", "sync_partner_center", "--enqueue"],
            cwd=ROOT,
            env=env,
            check=False,
        )
        print(
            "\n[run] PartnerHub is up: http://127.0.0.1:8000  (Ctrl-C stops everything)\n",
            flush=True,
        )
        while True:
            for name, proc in children:
                if proc.poll() is not None:
                    print(
                        f"[run] {name} exited with {proc.returncode}; stopping.",
                        flush=True,
                    )
                    return proc.returncode or 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\n[run] stopping…", flush=True)
        return 0
    finally:
        stop_all()


if __name__ == "__main__":
    sys.exit(main())
