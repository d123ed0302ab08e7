"""Project-wide fixtures: role users, the sandbox over real HTTP, a clean Redis."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.factories import UserFactory

SANDBOX_CUSTOMERS = 12
SANDBOX_SEED = 7


@pytest.fixture
def viewer(db: Any) -> Any:
    return UserFactory(username="viewer", role="viewer")


@pytest.fixture
def operator(db: Any) -> Any:
    return UserFactory(username="operator", role="operator")


@pytest.fixture
def admin_user(db: Any) -> Any:
    return UserFactory(username="admin", role="admin")


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[Any]:
    """Run one sandbox for the whole session on a free loopback port."""
    from sandbox.server import start_sandbox

    server = start_sandbox(
        host="127.0.0.1",
        port=0,
        customers=SANDBOX_CUSTOMERS,
        seed=SANDBOX_SEED,
        rate_limit_per_minute=100_000,
        provisioning_delay_seconds=0.2,
    )
    try:
        yield server
    finally:
        server.stop()


class SandboxControl:
    """Drive the sandbox's /_sandbox control endpoints over HTTP."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = requests.Session()

    def reset(
        self, customers: int = SANDBOX_CUSTOMERS, seed: int = SANDBOX_SEED
    ) -> None:
        self.post("/_sandbox/reset", {"customers": customers, "seed": seed})
        self.settings(rate_limit_per_minute=100_000, provisioning_delay_seconds=0.2)

    def state(self) -> dict[str, Any]:
        response = self.http.get(f"{self.url}/_sandbox/state", timeout=10)
        response.raise_for_status()
        return response.json()

    def settings(self, **values: Any) -> dict[str, Any]:
        return self.post("/_sandbox/settings", values)

    def fault(self, **rule: Any) -> dict[str, Any]:
        return self.post("/_sandbox/faults", rule)

    def clear_faults(self) -> None:
        self.http.delete(f"{self.url}/_sandbox/faults", timeout=10).raise_for_status()

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.http.post(f"{self.url}{path}", json=body, timeout=10)
        response.raise_for_status()
        return response.json() if response.content else {}

    def patch(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.http.patch(f"{self.url}{path}", json=body, timeout=10)
        response.raise_for_status()
        return response.json() if response.content else {}


@pytest.fixture
def sandbox(sandbox_server: Any, settings: Any) -> SandboxControl:
    """Return a freshly reset sandbox with PartnerHub's settings pointing at it."""
    control = SandboxControl(sandbox_server.url)
    control.reset()
    control.clear_faults()
    settings.PARTNER_CENTER_MODE = "sandbox"
    settings.SANDBOX_URL = sandbox_server.url
    settings.PARTNER_CENTER_API_URL = f"{sandbox_server.url}/v1"
    settings.PARTNER_CENTER_TOKEN_URL = (
        f"{sandbox_server.url}/{settings.PARTNER_CENTER_TENANT_ID}/oauth2/token"
    )
    settings.PARTNER_CENTER_CLIENT_ID = "sandbox-app"
    settings.PARTNER_CENTER_CLIENT_SECRET = "sandbox-secret"
    settings.PARTNER_CENTER_RATE_LIMIT_PER_MINUTE = 100_000
    return control


@pytest.fixture(autouse=True)
def _clean_redis(settings: Any) -> Iterator[None]:
    """Give every test an empty Redis database (the test settings use db 14)."""
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    client.flushdb()
    yield
    client.close()


@pytest.fixture(scope="session")
def chromium_path() -> str:
    return os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
