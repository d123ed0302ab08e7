"""What starts a worker (or beat) again if something other than Redis ends it.

The worker itself survives a Redis restart (`test_redis_restart.py`); these are
the backstops: `make run` (partnerhub/devrun.py) starts worker and beat again, a
few times in a window, and docker-compose restarts every long-running service.
The `Procfile` carries no policy of its own: the platform that runs it restarts
crashed processes (honcho and foreman stop everything when one exits).
"""

from __future__ import annotations

from pathlib import Path

from partnerhub import devrun

ROOT = Path(__file__).resolve().parents[2]
LONG_RUNNING = ("postgres", "redis", "sandbox", "web", "worker", "beat")


def _services(text: str) -> dict[str, list[str]]:
    """Return each docker-compose service's lines (stripped), by service name."""
    services: dict[str, list[str]] = {}
    inside, current = False, ""
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line.startswith(" "):
            inside = line.rstrip() == "services:"
            continue
        if inside and line.startswith("  ") and not line.startswith("   "):
            current = line.strip().rstrip(":")
            services[current] = []
        elif inside and current:
            services[current].append(line.strip())
    return services


def test_compose_restarts_every_long_running_service_but_not_migrate() -> None:
    services = _services((ROOT / "docker-compose.yml").read_text())
    for name in LONG_RUNNING:
        assert "restart: unless-stopped" in services[name], name
    assert 'restart: "no"' in services["migrate"]


def test_make_run_starts_an_exited_worker_or_beat_again() -> None:
    assert {"worker", "beat"} <= set(devrun.RESTARTABLE)
    assert devrun.MAX_RESTARTS >= 3 and devrun.RESTART_WINDOW >= 60
    assert "web" not in devrun.RESTARTABLE  # a web that exits stops `make run`
