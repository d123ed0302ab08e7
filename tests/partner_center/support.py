"""Test support: example bodies and a tiny scripted HTTP server.

The server is for client tests.

It serves canned answers per (method, path) in order; the last one repeats. It is
not a Partner Center simulator (that is ``sandbox/``): it exists to produce the
awkward answers a client must survive (429, 5xx, timeouts, dropped connections,
broken JSON, odd paging) on demand, over real HTTP.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests

EXAMPLES = Path(__file__).parent / "examples"
TOKEN = "tok-" + "x" * 40
REDIS_URL = "redis://127.0.0.1:6379/15"


def example(name: str) -> Any:
    """Return the parsed example body ``examples/<name>``."""
    return json.loads((EXAMPLES / name).read_text())


@dataclass
class Canned:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None
    delay: float = 0.0
    drop: bool = False


@dataclass
class SeenRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None


Responder = Canned | Callable[[SeenRequest], Canned]


class FakePartnerCenter:
    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], list[Responder]] = {}
        self.requests: list[SeenRequest] = []
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                fake._serve(self)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            daemon=True,
        )
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def api(self) -> str:
        return f"{self.url}/v1"

    def script(self, method: str, path: str, *answers: Responder) -> None:
        with self._lock:
            self.routes[(method.upper(), path)] = list(answers)

    def calls(
        self, method: str | None = None, path: str | None = None
    ) -> list[SeenRequest]:
        return [
            r
            for r in self.requests
            if (method is None or r.method == method)
            and (path is None or r.path == path)
        ]

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        raw_body = handler.rfile.read(length) if length else b""
        try:
            body = json.loads(raw_body) if raw_body else None
        except ValueError:
            body = raw_body.decode(errors="replace")
        if handler.headers.get("Content-Type", "").startswith(
            "application/x-www-form-urlencoded"
        ):
            body = dict(parse_qsl(raw_body.decode()))
        seen = SeenRequest(
            method=handler.command,
            path=parts.path,
            query=dict(parse_qsl(parts.query, keep_blank_values=True)),
            headers=dict(handler.headers.items()),
            body=body,
        )
        with self._lock:
            self.requests.append(seen)
            queue = self.routes.get((handler.command, parts.path))
            if not queue:
                answer: Responder = Canned(
                    404, {"code": 404, "description": "no route"}
                )
            elif len(queue) > 1:
                answer = queue.pop(0)
            else:
                answer = queue[0]
        if callable(answer):
            answer = answer(seen)
        if answer.delay:
            time.sleep(answer.delay)
        if answer.drop:
            handler.close_connection = True
            return
        payload = answer.raw
        if payload is None:
            payload = b"" if answer.body is None else json.dumps(answer.body).encode()
        handler.send_response(answer.status)
        if answer.raw is None and answer.body is not None:
            handler.send_header("Content-Type", "application/json")
        for key, value in answer.headers.items():
            handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            handler.wfile.write(payload)


class SandboxControl:
    """Drive the sandbox's /_sandbox control endpoints over HTTP (see sandbox/README.md)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = requests.Session()

    def reset(self, customers: int = 12, seed: int = 7) -> None:
        """Reseed, make the sandbox fast and generous, and clear every fault."""
        self.post("/_sandbox/reset", {"customers": customers, "seed": seed})
        self.settings(rate_limit_per_minute=100_000, provisioning_delay_seconds=0.2)
        self.clear_faults()

    def clear_faults(self) -> None:
        self.http.delete(f"{self.url}/_sandbox/faults", timeout=10).raise_for_status()

    def state(self) -> dict[str, Any]:
        response = self.http.get(f"{self.url}/_sandbox/state", timeout=10)
        response.raise_for_status()
        return dict(response.json())

    def settings(self, **values: Any) -> dict[str, Any]:
        return self.post("/_sandbox/settings", values)

    def fault(self, **rule: Any) -> dict[str, Any]:
        return self.post("/_sandbox/faults", rule)

    def fidelity(self, **switches: Any) -> dict[str, Any]:
        """Play the given answers of fidelity switches; return every switch's value."""
        return dict(self.post("/_sandbox/fidelity", switches)["fidelity"])

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.http.post(f"{self.url}{path}", json=body, timeout=10)
        response.raise_for_status()
        return dict(response.json()) if response.content else {}

    def patch(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.http.patch(f"{self.url}{path}", json=body, timeout=10)
        response.raise_for_status()
        return dict(response.json()) if response.content else {}


class HostRewritingSession(requests.Session):
    """A requests session that sends ``https://<any host>/...`` to ``target``.

    It lets real ``msal`` (which insists on https authorities) talk to a local
    scripted server over real HTTP.
    """

    def __init__(self, target: str) -> None:
        super().__init__()
        self.target = target.rstrip("/")

    def request(  # type: ignore[override]
        self, method: str, url: str, *args: Any, **kwargs: Any
    ) -> requests.Response:
        parts = urlsplit(url)
        if parts.scheme == "https":
            query = f"?{parts.query}" if parts.query else ""
            url = f"{self.target}{parts.path}{query}"
        return super().request(method, url, *args, **kwargs)


class RotatingRefreshTokens:
    """An Entra-like token endpoint where each refresh token works once.

    Redeeming a token returns a new access token and a new refresh token and
    spends the old one; a spent or unknown token gets ``invalid_grant``
    (AADSTS700082), as a reused token would after rotation.
    """

    def __init__(self, first: str) -> None:
        self.valid = {first}
        self.redeemed: list[str] = []
        self.refused: list[str] = []

    def __call__(self, seen: SeenRequest) -> Canned:
        body = seen.body if isinstance(seen.body, dict) else {}
        token = str(body.get("refresh_token", ""))
        if token not in self.valid:
            self.refused.append(token)
            return Canned(
                400,
                {
                    "error": "invalid_grant",
                    "error_description": "AADSTS700082: The refresh token has "
                    f"expired due to inactivity. Token: {token}",
                },
            )
        self.valid.discard(token)
        self.redeemed.append(token)
        n = len(self.redeemed)
        self.valid.add(f"rt-{n}")
        return Canned(
            200,
            {
                "token_type": "Bearer",
                "expires_in": 3600,
                "access_token": f"user-access-{n}",
                "refresh_token": f"rt-{n}",
                "scope": "https://api.partnercenter.microsoft.com/user_impersonation",
            },
        )


def script_entra_discovery(fake: FakePartnerCenter, tenant: str) -> None:
    """Serve the OpenID configuration msal reads before its first token request."""
    root = f"https://login.example.test/{tenant}"
    fake.script(
        "GET",
        f"/{tenant}/v2.0/.well-known/openid-configuration",
        Canned(
            200,
            {
                "token_endpoint": f"{root}/oauth2/v2.0/token",
                "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
                "issuer": f"{root}/v2.0",
            },
        ),
    )
