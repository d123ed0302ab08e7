"""The threaded sandbox HTTP server (stdlib wsgiref + ThreadingMixIn).

``start_sandbox(...)`` runs one in a background thread for tests and benchmarks::

    srv = start_sandbox(port=0, customers=20, seed=1, provisioning_delay_seconds=0)
    srv.url      # "http://127.0.0.1:PORT"
    srv.state    # the SandboxState (hold srv.state.lock while reading it)
    srv.stop()
"""

from __future__ import annotations

import threading
from pathlib import Path
from socketserver import ThreadingMixIn
from types import TracebackType
from typing import IO, Any, cast
from wsgiref.simple_server import ServerHandler, WSGIRequestHandler, WSGIServer

from sandbox.app import DROP_KEY, SandboxApp
from sandbox.persist import load
from sandbox.seed import build_state
from sandbox.settings import FIDELITY
from sandbox.state import SandboxState, validate_settings


class _DroppingServerHandler(ServerHandler):
    """A wsgiref handler that can close the connection without any response."""

    request_handler: WSGIRequestHandler

    def finish_response(self) -> None:
        """Send the response, or nothing at all when the app asked to drop it."""
        environ: dict[str, Any] = dict(self.environ or {})
        if environ.get(DROP_KEY):
            result = self.result
            if result is not None and hasattr(result, "close"):
                result.close()
            self.request_handler.close_connection = True
            return
        super().finish_response()

    def close(self) -> None:
        """Close the handler (skip wsgiref's access log for dropped responses)."""
        if getattr(self, "status", None) is None:
            self.result = self.headers = self.status = self.environ = None
            self.bytes_sent = 0
            self.headers_sent = False
            return
        super().close()


class _RequestHandler(WSGIRequestHandler):
    """Request handler using the dropping ServerHandler; the app does the logging."""

    def handle(self) -> None:
        """Handle a single HTTP request (as wsgiref does, with our ServerHandler)."""
        self.raw_requestline = self.rfile.readline(65537)
        if len(self.raw_requestline) > 65536:
            self.requestline = ""
            self.request_version = ""
            self.command = ""
            self.send_error(414)
            return
        if not self.parse_request():
            return
        handler = _DroppingServerHandler(
            self.rfile,
            cast(IO[bytes], self.wfile),
            self.get_stderr(),
            self.get_environ(),
            multithread=True,
        )
        handler.request_handler = self
        handler.run(self.server.get_app())  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:
        """Do nothing: the app writes one line per request itself."""


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    """A WSGIServer handling each request in its own daemon thread."""

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 256


class SandboxServer:
    """A running sandbox: ``url``, ``state``, ``app`` and ``stop()``."""

    def __init__(self, httpd: ThreadingWSGIServer, app: SandboxApp) -> None:
        """Wrap a bound server; call ``start()`` to serve in a background thread."""
        self.httpd = httpd
        self.app = app
        self.state: SandboxState = app.state
        host, port = httpd.server_address[:2]
        self.host = str(host)
        self.port = int(port)
        self.url = f"http://{self.host}:{self.port}"
        self._thread: threading.Thread | None = None

    def start(self) -> SandboxServer:
        """Start serving in a daemon thread and return self."""
        self._thread = threading.Thread(
            target=self.httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"sandbox-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until ``stop()`` is called from another one."""
        self.httpd.serve_forever(poll_interval=0.1)

    def stop(self) -> None:
        """Stop serving and close the listening socket."""
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> SandboxServer:
        """Return self (the server is already running)."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the server."""
        self.stop()


def make_server(
    host: str = "127.0.0.1",
    port: int = 8001,
    customers: int = 200,
    seed: int = 1,
    *,
    log_requests: bool = False,
    log_stream: IO[str] | None = None,
    state_file: str | Path | None = None,
    **settings: Any,
) -> SandboxServer:
    """Return a bound (not yet serving) sandbox server.

    With ``state_file``, the state saved there is loaded if the file exists (then
    ``customers`` and ``seed`` are ignored), and saved there after every change.
    Raise ValueError for an unknown or invalid setting, ``StateFileError`` for an
    unreadable state file, OSError if the port is taken.
    """
    clean = validate_settings(settings)
    path = Path(state_file) if state_file is not None else None
    if path is not None and path.exists():
        state = load(path)
    else:
        state = build_state(customers, seed)
    state.settings.update(clean)
    state.fidelity_start = {k: state.settings[k] for k in FIDELITY}
    app = SandboxApp(state, log_requests=log_requests, log_stream=log_stream)
    if path is not None:
        app.persist_to(path)
    httpd = ThreadingWSGIServer((host, port), _RequestHandler)
    httpd.set_app(app)
    return SandboxServer(httpd, app)


def start_sandbox(
    host: str = "127.0.0.1",
    port: int = 0,
    customers: int = 20,
    seed: int = 1,
    *,
    log_requests: bool = False,
    log_stream: IO[str] | None = None,
    state_file: str | Path | None = None,
    **settings: Any,
) -> SandboxServer:
    """Return a sandbox serving in a background thread (port 0 picks a free port).

    ``settings`` are the /_sandbox/settings keys (e.g. ``rate_limit_per_minute=60``,
    ``provisioning_delay_seconds=0``). Raise ValueError for a bad setting.
    """
    server = make_server(
        host,
        port,
        customers,
        seed,
        log_requests=log_requests,
        log_stream=log_stream,
        state_file=state_file,
        **settings,
    )
    return server.start()
