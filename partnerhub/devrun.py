"""`make run`: start the sandbox, web, worker and beat in the foreground.

Ctrl-C stops them all. Redis must be reachable; a local `redis-server` is started
when none answers and one is installed. Everything listens on 127.0.0.1 unless
`PARTNERHUB_RUN_HOST` says otherwise.

`make run` serves with DEBUG off (unless `DJANGO_DEBUG=1`), as in production: a
reseller trying the demo sees PartnerHub's own 404 and 500 pages, WhiteNoise serves
the static files, and a server error's traceback is printed here, in the log.

`python -m partnerhub.devrun --reset-demo` (`make reset-demo`) first deletes the
demo's database and the sandbox's saved state, then starts over.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
LOOPBACK = "127.0.0.1"
WEB_PORT = 8000
SANDBOX_PORT = 8001

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


def run_env(environ: Mapping[str, str]) -> dict[str, str]:
    """Return the environment every process of `make run` gets."""
    env = dict(environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "partnerhub.settings")
    env.setdefault("PYTHONUNBUFFERED", "1")
    # The sandbox allows a demo-friendly rate; the live default stays 500/min.
    env.setdefault("PARTNER_CENTER_RATE_LIMIT_PER_MINUTE", "3000")
    return env


def listen_host(env: Mapping[str, str]) -> str:
    """Return the address web and the sandbox listen on: loopback unless asked."""
    return env.get("PARTNERHUB_RUN_HOST", "").strip() or LOOPBACK


def connect_host(env: Mapping[str, str]) -> str:
    """Return the address to reach what listens on `listen_host`."""
    host = listen_host(env)
    return LOOPBACK if host in {"0.0.0.0", "::"} else host  # noqa: S104


def _host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def sandbox_command(env: Mapping[str, str], *, port: int = SANDBOX_PORT) -> list[str]:
    """Return the command that starts the sandbox."""
    return [
        PY,
        "-m",
        "sandbox",
        "--host",
        listen_host(env),
        "--port",
        str(port),
        "--customers",
        env.get("PARTNERHUB_DEMO_CUSTOMERS", "200"),
        "--seed",
        env.get("PARTNERHUB_DEMO_SEED", "1"),
    ]


def web_command(env: Mapping[str, str], *, port: int = WEB_PORT) -> list[str]:
    """Return the command that starts the web server."""
    return [
        PY,
        "manage.py",
        "runserver",
        _host_port(listen_host(env), port),
        "--noreload",
    ]


def main(argv: list[str] | None = None) -> int:
    """Run every PartnerHub process until Ctrl-C; return the exit status."""
    env = run_env(os.environ)
    mode = env.get("PARTNER_CENTER_MODE", "sandbox")
    here = connect_host(env)
    env.setdefault("SANDBOX_URL", f"http://{_host_port(here, SANDBOX_PORT)}")
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
            port
            for port in (WEB_PORT, SANDBOX_PORT)
            if _reachable(here, port, timeout=0.3)
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
            start("sandbox", sandbox_command(env), log=ROOT / "var" / "sandbox.log")
            _wait_for(here, SANDBOX_PORT, "The sandbox")
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
        start("web", web_command(env))
        _wait_for(here, WEB_PORT, "The web server")
        subprocess.run(
            [PY, "manage.py", "sync_partner_center", "--enqueue"],
            cwd=ROOT,
            env=env,
            check=False,
        )
        print(
            f"\n[run] PartnerHub is up: http://{_host_port(here, WEB_PORT)}  "
            "(Ctrl-C stops everything)\n",
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
