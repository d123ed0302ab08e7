"""Fixtures for the sandbox tests: a real HTTP sandbox per test and a small client.

Nothing here needs Django: no ``db`` fixture, no Django imports.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from sandbox.server import SandboxServer, start_sandbox

TIMEOUT = 10


class Api:
    """A minimal Partner Center client for tests: token, /v1 calls, control calls."""

    def __init__(self, url: str) -> None:
        """Create a client for the sandbox at ``url`` and fetch a token."""
        self.url = url
        self.token = self.fetch_token()

    def fetch_token(self) -> str:
        """Return a fresh access token from the v1 token endpoint."""
        response = requests.post(
            f"{self.url}/partner-tenant/oauth2/token",
            data={
                "grant_type": "client_credentials",
                "client_id": "sandbox-app",
                "client_secret": "sandbox-secret",
                "resource": "https://graph.windows.net",
            },
            timeout=TIMEOUT,
        )
        response.raise_for_status()
        return str(response.json()["access_token"])

    def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        headers: dict[str, str] | None = None,
        timeout: float = TIMEOUT,
    ) -> requests.Response:
        """Return the response of a /v1 call (``path`` relative to /v1)."""
        all_headers = {
            "Authorization": f"Bearer {self.token}",
            "Accept": "application/json",
        }
        all_headers.update(headers or {})
        return requests.request(
            method,
            f"{self.url}/v1{path}",
            json=json,
            headers=all_headers,
            timeout=timeout,
        )

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        """Return the response of GET /v1{path}."""
        return self.call("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        """Return the response of POST /v1{path}."""
        return self.call("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> requests.Response:
        """Return the response of PATCH /v1{path}."""
        return self.call("PATCH", path, **kwargs)

    def control(self, method: str, path: str, json: Any = None) -> requests.Response:
        """Return the response of a /_sandbox control call."""
        return requests.request(
            method, f"{self.url}/_sandbox{path}", json=json, timeout=TIMEOUT
        )

    def settings(self, **changes: Any) -> dict[str, Any]:
        """Merge settings and return them all."""
        response = self.control("POST", "/settings", changes)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def fault(self, **rule: Any) -> dict[str, Any]:
        """Add a fault rule and return it."""
        response = self.control("POST", "/faults", rule)
        assert response.status_code == 201, response.text
        return dict(response.json())

    def dump(self) -> dict[str, Any]:
        """Return the whole state dump."""
        response = self.control("GET", "/state")
        assert response.status_code == 200
        return dict(response.json())

    def scenario(self, company_name: str) -> dict[str, Any]:
        """Return {customer, subscriptions, users, orders} of one tenant by name."""
        dump = self.dump()
        tenants = dump["customers"] + dump["invitations"]
        customer = next(c for c in tenants if c["companyName"] == company_name)
        cid = customer["id"]
        return {
            "customer": customer,
            "id": cid,
            "subscriptions": [
                s for s in dump["subscriptions"] if s["customerId"] == cid
            ],
            "users": [u for u in dump["users"] if u["customerId"] == cid],
            "orders": [o for o in dump["orders"] if o["customerId"] == cid],
        }


@pytest.fixture
def start() -> Iterator[Callable[..., SandboxServer]]:
    """Return a factory starting sandboxes (stopped after the test)."""
    servers: list[SandboxServer] = []

    def _start(**kwargs: Any) -> SandboxServer:
        options: dict[str, Any] = {
            "customers": 20,
            "seed": 7,
            "provisioning_delay_seconds": 0,
        }
        options.update(kwargs)
        server = start_sandbox(port=0, **options)
        servers.append(server)
        return server

    yield _start
    for server in servers:
        server.stop()


@pytest.fixture
def sandbox(start: Callable[..., SandboxServer]) -> SandboxServer:
    """Return a running sandbox: 20 customers, seed 7, no provisioning delay."""
    return start()


@pytest.fixture
def api(sandbox: SandboxServer) -> Api:
    """Return a client with a valid token for the ``sandbox`` fixture."""
    return Api(sandbox.url)


@pytest.fixture
def make_api() -> Callable[[SandboxServer], Api]:
    """Return a factory of clients for any started sandbox."""

    def _make(server: SandboxServer) -> Api:
        return Api(server.url)

    return _make
