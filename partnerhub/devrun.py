"""`make run`: start the sandbox, web, worker and beat in the foreground.

Ctrl-C stops them all. Redis must be reachable; a local `redis-server` is started
when none answers and one is installed. Everything listens on 127.0.0.1 unless
`PARTNERHUB_RUN_HOST` says otherwise.

`make run` serves with DEBUG off (unless `DJANGO_DEBUG=1`), as in production: a
reseller trying the demo sees PartnerHub's own 404 and 500 pages, WhiteNoise serves
the static files, and a server error's traceback is printed here, in the log.

The sandbox keeps its state in `var/sandbox-state.json` (saved after every write and
clock move), and the demo database lives beside it, so a restart of `make run` carries
on where the last one stopped: a migration completed in the database is completed in
the sandbox too. When the two cannot agree — the sandbox's state file is missing
while a database from an earlier run is there — the demo starts over: the database is
deleted and migrated again, and queued tasks that referred to its rows are purged.
`python -m partnerhub.devrun --reset-demo` (`make reset-demo`) starts over on purpose,
whatever the mode, deleting the sandbox's state too. A database named by a
non-SQLite `DATABASE_URL` is never deleted: it is left as it is, with a warning.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
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


# Processes `make run` starts again when they exit on their own, at most
# MAX_RESTARTS times in RESTART_WINDOW seconds.
RESTARTABLE = ("worker", "beat")
MAX_RESTARTS = 5
RESTART_WINDOW = 600.0


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
        "--state-file",
        str(sandbox_state(env)),
    ]


def sandbox_state(env: Mapping[str, str]) -> Path:
    """Return the file the demo sandbox keeps its state in across restarts."""
    return var_dir(env) / "sandbox-state.json"


def audit_checkpoint(env: Mapping[str, str]) -> Path:
    """Return the demo database's audit checkpoint (as the settings compute it)."""
    path = env.get("PARTNERHUB_AUDIT_CHECKPOINT_FILE")
    return Path(path) if path else var_dir(env) / "audit-checkpoint.json"


def web_command(env: Mapping[str, str], *, port: int = WEB_PORT) -> list[str]:
    """Return the command that starts the web server."""
    return [
        PY,
        "manage.py",
        "runserver",
        _host_port(listen_host(env), port),
        "--noreload",
    ]


def var_dir(env: Mapping[str, str]) -> Path:
    """Return the folder of the demo's files (as the settings compute it)."""
    return Path(env.get("PARTNERHUB_VAR_DIR") or ROOT / "var")


def demo_database(env: Mapping[str, str]) -> Path | None:
    """Return the SQLite file the demo's database is, or None if it is not a file."""
    url = env.get("DATABASE_URL", "")
    if not url:
        return var_dir(env) / "partnerhub.sqlite3"
    if not url.lower().startswith("sqlite:"):
        return None
    from partnerhub.env import database_from_url

    return Path(database_from_url(url, base_dir=ROOT)["NAME"])


def reset_demo(env: Mapping[str, str]) -> list[Path]:
    """Delete the demo's SQLite database (with its WAL files); return what was deleted.

    Raise SystemExit, deleting nothing, when `DATABASE_URL` names a database that is
    not a SQLite file: that one belongs to whoever configured it.
    """
    database = demo_database(env)
    if database is None:
        raise SystemExit(
            "DATABASE_URL names a database server, which PartnerHub does not delete. "
            "Drop and create that database yourself, or unset DATABASE_URL to use the "
            "demo's SQLite file."
        )
    deleted = []
    files = (database, *(Path(f"{database}{end}") for end in ("-wal", "-shm")))
    # The checkpoint records that database's chain: a new one starts its own.
    for path in (*files, sandbox_state(env), audit_checkpoint(env)):
        if path.exists():
            path.unlink()
            deleted.append(path)
    return deleted


def _start_over(env: Mapping[str, str], why: str) -> None:
    """Reset the demo database, saying why and what went, and purge stale tasks."""
    if demo_database(env) is None:
        print(
            f"[run] {why} DATABASE_URL names a database server, which is left as "
            "it is: pages may show migrations the sandbox does not know about. "
            "Recreate that database to start the demo over.",
            flush=True,
        )
        return
    deleted = reset_demo(env)
    names = ", ".join(str(path) for path in deleted) or "nothing yet"
    print(f"[run] {why} Deleted: {names}.", flush=True)
    # Queued tasks name rows of the deleted database; new rows reuse those ids.
    subprocess.run(
        [PY, "-m", "celery", "-A", "partnerhub", "purge", "--force"],
        cwd=ROOT,
        env=dict(env),
        check=False,
        stdout=subprocess.DEVNULL,
    )


def prepare_demo(env: Mapping[str, str], *, reset: bool) -> None:
    """Start the demo over when asked, or when the database would outlive the sandbox.

    Against the sandbox, a database is kept only while the sandbox's state file is
    kept too: without it the sandbox reseeds, and the database starts over with it.
    """
    if reset:
        _start_over(env, "Starting the demo over, as asked.")
        return
    if env.get("PARTNER_CENTER_MODE", "sandbox") != "sandbox":
        return
    database = demo_database(env)
    if sandbox_state(env).exists() or (database is not None and not database.exists()):
        return
    _start_over(
        env,
        "The sandbox has no saved state and starts from its seed, so the demo "
        "database starts over with it (`make reset-demo` does this in any mode).",
    )


class _Processes:
    """The child processes `make run` started, each with the command that started it."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.children: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.commands: dict[str, tuple[list[str], Path | None]] = {}

    def start(self, name: str, args: list[str], log: Path | None = None) -> None:
        """Start process `name` running `args`, logging to `log` (else the console)."""
        print(f"[run] starting {name}: {' '.join(args)}", flush=True)
        self.commands[name] = (args, log)
        output = None
        if log is not None:
            log.parent.mkdir(parents=True, exist_ok=True)
            output = log.open("ab")
            print(f"[run] {name} logs to {log.relative_to(ROOT)}", flush=True)
        self.children.append(
            (
                name,
                subprocess.Popen(
                    args, cwd=ROOT, env=self.env, stdout=output, stderr=output
                ),
            )
        )

    def stop_all(self) -> None:
        """Stop every child (newest first), killing those that outlive 10 seconds."""
        for _, proc in reversed(self.children):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for _, proc in self.children:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()

    def watch(self) -> int:
        """Restart a worker or beat that exits (a few times); return the exit
        status when any other child exits."""
        restarts: list[float] = []
        while True:
            for number, (name, proc) in enumerate(list(self.children)):
                if proc.poll() is None:
                    continue
                recent = [t for t in restarts if t > time.monotonic() - RESTART_WINDOW]
                if name in RESTARTABLE and len(recent) < MAX_RESTARTS:
                    # A worker or beat can exit when the broker drops (e.g. Redis
                    # restarted); the database holds every migration's state, so a
                    # new one simply carries on.
                    print(
                        f"[run] {name} exited with {proc.returncode}; starting it again.",
                        flush=True,
                    )
                    restarts = [*recent, time.monotonic()]
                    self.children.pop(number)
                    self.start(name, *self.commands[name])
                    break
                print(
                    f"[run] {name} exited with {proc.returncode}; stopping.",
                    flush=True,
                )
                return proc.returncode or 1
            time.sleep(0.5)


def _celery_command(role: str) -> list[str]:
    """Return the command of the Celery `role` ("worker" or "beat")."""
    base = [PY, "-m", "celery", "-A", "partnerhub", role, "--loglevel", "INFO"]
    if role == "worker":
        # Steps wait on Partner Center, not the CPU: threads fit them.
        return [*base, "--pool", "threads", "--concurrency", "8"]
    return [*base, "--schedule", str(ROOT / "var" / "celerybeat-schedule")]


def _start_redis(processes: _Processes, env: dict[str, str]) -> bool:
    """Start a local Redis unless one answers already; return False if none can run."""
    url = env.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    redis = urlsplit(url)
    host, port = redis.hostname or "127.0.0.1", redis.port or 6379
    if _reachable(host, port):
        return True
    server = shutil.which("redis-server")
    if server is None:
        print(REDIS_MISSING.format(url=url))
        return False
    processes.start(
        "redis",
        [
            server,
            "--bind",
            host,
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
        ],
    )
    _wait_for(host, port, "Redis")
    return True


def _ports_free(here: str) -> bool:
    """Return True if the web and sandbox ports are free; else say which are not."""
    busy = [
        port for port in (WEB_PORT, SANDBOX_PORT) if _reachable(here, port, timeout=0.3)
    ]
    if busy:
        ports = " and ".join(str(port) for port in busy)
        print(
            f"Port {ports} on {here} is already in use. Is another PartnerHub "
            "(or another server) running? Stop it and run `make run` again."
        )
    return not busy


def _manage(env: dict[str, str], *args: str, check: bool = True) -> None:
    subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env, check=check)


def main(argv: Sequence[str] | None = None) -> int:
    """Run every PartnerHub process until Ctrl-C; return the exit status.

    With `--reset-demo`, delete the demo's database first, whatever the mode.
    """
    reset = "--reset-demo" in (sys.argv[1:] if argv is None else argv)
    env = run_env(os.environ)
    mode = env.get("PARTNER_CENTER_MODE", "sandbox")
    here = connect_host(env)
    env.setdefault("SANDBOX_URL", f"http://{_host_port(here, SANDBOX_PORT)}")
    processes = _Processes(env)
    # Ctrl-C and `kill` both stop everything, even when started in the background
    # (where a shell hands SIGINT down as ignored).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    try:
        if not _start_redis(processes, env) or not _ports_free(here):
            return 1
        prepare_demo(env, reset=reset)
        _manage(env, "migrate", "--noinput")
        _manage(env, "ensure_demo_accounts")
        if mode == "sandbox":
            processes.start(
                "sandbox", sandbox_command(env), log=ROOT / "var" / "sandbox.log"
            )
            _wait_for(here, SANDBOX_PORT, "The sandbox")
        processes.start("worker", _celery_command("worker"))
        processes.start("beat", _celery_command("beat"))
        processes.start("web", web_command(env))
        _wait_for(here, WEB_PORT, "The web server")
        _manage(env, "sync_partner_center", "--enqueue", check=False)
        print(
            f"\n[run] PartnerHub is up: http://{_host_port(here, WEB_PORT)}  "
            "(Ctrl-C stops everything)\n",
            flush=True,
        )
        return processes.watch()
    except KeyboardInterrupt:
        print("\n[run] stopping…", flush=True)
        return 0
    finally:
        processes.stop_all()


if __name__ == "__main__":
    sys.exit(main())
