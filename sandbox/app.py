"""The sandbox WSGI application: token endpoints, the Partner Center ``/v1`` subset
(``sandbox.pipeline`` + ``sandbox.api``) and the ``/_sandbox`` control endpoints
(``sandbox.control``)."""

from __future__ import annotations

import re
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any

from sandbox.api import Router
from sandbox.control import Control
from sandbox.faults import FaultBook
from sandbox.persist import Persister
from sandbox.pipeline import DROP_KEY, ApiPipeline, error_response, now_stamp
from sandbox.state import SandboxState
from sandbox.tokens import TokenService
from sandbox.web import JSON_TYPE, ApiError, Request, Response

__all__ = ["DROP_KEY", "SandboxApp"]

StartResponse = Callable[..., Any]

_TOKEN_PATH = re.compile(r"/[^/]+/oauth2(/v2\.0)?/token/?")
_REASONS = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    204: "No Content",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def _status_line(status: int) -> str:
    """Return ``"200 OK"`` style status text."""
    return f"{status} {_REASONS.get(status, 'Unknown')}"


def parse_request(environ: dict[str, Any]) -> Request:
    """Return the Request for a WSGI environ."""
    headers: dict[str, str] = {}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers[key[5:].replace("_", "-").lower()] = value
    if environ.get("CONTENT_TYPE"):
        headers["content-type"] = environ["CONTENT_TYPE"]
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    path = environ.get("PATH_INFO") or "/"
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/")
    return Request(
        method=environ.get("REQUEST_METHOD", "GET").upper(),
        path=path,
        raw_query=environ.get("QUERY_STRING", ""),
        headers=headers,
        body=body,
    )


class SandboxApp:
    """The WSGI callable serving one ``SandboxState``."""

    def __init__(
        self,
        state: SandboxState,
        *,
        log_requests: bool = False,
        log_stream: IO[str] | None = None,
    ) -> None:
        """Create the app around ``state``; log one line per request if asked."""
        self.state = state
        self.log_requests = log_requests
        self.log_stream = log_stream or sys.stdout
        self._log_lock = threading.Lock()
        self.tokens = TokenService(state)
        self.faults = FaultBook(state.seed)
        self.pipeline = ApiPipeline(state, self.tokens, self.faults, Router())
        self.control = Control(state, self.faults, self.pipeline.bucket)
        self.persister: Persister | None = None

    def persist_to(self, path: Path) -> None:
        """Save the state to ``path`` now and after every change from now on."""
        self.persister = Persister(self.state, path)
        self.pipeline.persister = self.persister
        with self.state.lock:
            self.state.dirty = True
        self.persister.flush()

    def __call__(
        self, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        """Serve one WSGI request."""
        started = time.perf_counter()
        request = parse_request(environ)
        path = request.path
        note = ""
        if path == "/v1" or path.startswith("/v1/"):
            response, note = self.pipeline.serve(request, environ)
        elif path.startswith("/_sandbox"):
            response = self.control.serve(request)
        elif _TOKEN_PATH.fullmatch(path):
            response = self.tokens.serve(request)
        else:
            response = error_response(ApiError(404, 1000, "Not found"))
        if self.persister is not None:
            self.persister.flush()
        if self.log_requests:
            self._log_line(request, response, note, started)
        if environ.get(DROP_KEY):
            return []
        payload = response.payload()
        headers = [("Content-Type", JSON_TYPE), ("Content-Length", str(len(payload)))]
        headers.extend(response.headers)
        start_response(_status_line(response.status), headers)
        return [payload]

    def _log_line(
        self, request: Request, response: Response, note: str, started: float
    ) -> None:
        """Write one request line to the log stream (never headers or tokens)."""
        elapsed = (time.perf_counter() - started) * 1000
        target = request.path + (f"?{request.raw_query}" if request.raw_query else "")
        line = (
            f"{now_stamp()} {request.method} {target} {response.status} "
            f"{elapsed:.1f}ms{(' ' + note) if note else ''}\n"
        )
        with self._log_lock:
            self.log_stream.write(line)
            self.log_stream.flush()
