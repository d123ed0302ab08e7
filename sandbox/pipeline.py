"""The ``/v1`` request pipeline.

latency -> rate limit (429) -> bearer token (401) -> fault rules answered before any
work (429/500/503) -> MS-RequestId de-duplication of writes -> handler (under the
state lock) -> faults applied after the write (drop_response, malformed_json,
timeout) -> request log.
"""

from __future__ import annotations

import base64
import sys
import time
import traceback
import uuid
from datetime import UTC, datetime
from typing import Any

from sandbox.api import Router
from sandbox.faults import FaultBook
from sandbox.state import DEDUP_LIMIT, SandboxState
from sandbox.tokens import TokenService
from sandbox.web import ApiError, Request, Response, TokenBucket, retry_after

#: WSGI environ key set to close the socket without any response.
DROP_KEY = "sandbox.drop_connection"
WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})


def now_stamp() -> str:
    """Return the current UTC time with milliseconds (request log)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _ms_cv() -> str:
    """Return a correlation vector shaped like Partner Center's MS-CV."""
    return base64.b64encode(uuid.uuid4().bytes[:12]).decode().rstrip("=") + ".0"


def error_response(error: ApiError) -> Response:
    """Return the Response for an ApiError."""
    return Response(error.status, error.body(), list(error.headers))


def throttled(seconds: int) -> Response:
    """Return the documented 429 answer with its Retry-After."""
    return Response(
        429,
        {
            "statusCode": 429,
            "message": f"Rate limit is exceeded. Try again in {seconds} seconds.",
        },
        [("Retry-After", str(seconds))],
    )


class ApiPipeline:
    """Serve one ``/v1`` call through every stage."""

    def __init__(
        self,
        state: SandboxState,
        tokens: TokenService,
        faults: FaultBook,
        router: Router,
    ) -> None:
        """Wire the pipeline's stages."""
        self.state = state
        self.tokens = tokens
        self.faults = faults
        self.router = router
        self.bucket = TokenBucket()

    def serve(self, request: Request, environ: dict[str, Any]) -> tuple[Response, str]:
        """Return (response, log note); set DROP_KEY to send no response."""
        state = self.state
        supplied_id = request.header("ms-requestid")
        request_id = supplied_id or str(uuid.uuid4())
        correlation_id = request.header("ms-correlationid") or str(uuid.uuid4())
        entry: dict[str, Any] = {
            "method": request.method,
            "path": request.path,
            "query": request.raw_query,
            "status": None,
            "ms_request_id": request_id,
            "ms_correlation_id": correlation_id,
            "at": now_stamp(),
            "replayed": False,
            "fault": None,
        }
        with state.lock:
            settings = dict(state.settings)
        if settings["latency_ms"] > 0:
            time.sleep(settings["latency_ms"] / 1000)

        response = self._pre_checks(request, settings, entry)
        post: str | None = None
        if response is None:
            response = self._run_handler(request, supplied_id, settings, entry)
            if entry["fault"] in ("drop_response", "malformed_json", "timeout"):
                post = entry["fault"]
        note = ""
        if post == "drop_response":
            environ[DROP_KEY] = True
            note = "(response dropped)"
        elif post == "malformed_json":
            payload = response.payload() or b'{"items": ['
            response = Response(200, payload[: max(1, len(payload) // 2)])
            note = "(malformed body)"
        response.headers.extend(
            [
                ("MS-RequestId", request_id),
                ("MS-CorrelationId", correlation_id),
                ("MS-CV", _ms_cv()),
                ("MS-ServerId", "sandbox"),
            ]
        )
        entry["status"] = response.status
        with state.lock:
            state.requests.append(entry)
        if post == "timeout":
            delay = settings["latency_ms"] / 1000 if settings["latency_ms"] > 0 else 30
            time.sleep(delay)
        return response, note

    def _pre_checks(
        self, request: Request, settings: dict[str, Any], entry: dict[str, Any]
    ) -> Response | None:
        """Return a rejection (429, 401, fault 429/5xx) or None to go on."""
        wait = self.bucket.take(int(settings["rate_limit_per_minute"]))
        if wait > 0:
            return throttled(int(settings["retry_after_seconds"] or retry_after(wait)))
        try:
            self.tokens.authorise(request)
        except ApiError as exc:
            return error_response(exc)
        with self.state.lock:
            action = self.faults.match(self.state.faults, request)
        entry["fault"] = action
        if action == "429":
            return throttled(int(settings["retry_after_seconds"] or 1))
        if action == "500":
            return error_response(ApiError(500, 800003, "Unexpected service error"))
        if action == "503":
            return error_response(
                ApiError(
                    503,
                    503,
                    "The service is temporarily unavailable. Try again later.",
                    headers=[("Retry-After", "1")],
                )
            )
        return None

    def _run_handler(
        self,
        request: Request,
        supplied_id: str | None,
        settings: dict[str, Any],
        entry: dict[str, Any],
    ) -> Response:
        """Dispatch under the state lock, with MS-RequestId de-duplication."""
        state = self.state
        dedup = request.method in WRITE_METHODS and supplied_id is not None
        key = (supplied_id or "", request.method, request.path.lower())
        with state.lock:
            if dedup and key in state.dedup:
                entry["replayed"] = True
                if settings["duplicate_request_id"] == "conflict":
                    return error_response(
                        ApiError(
                            409,
                            800060,
                            "Your order is in progress. Please check your order "
                            "history for recent orders in few minutes",
                        )
                    )
                stored = state.dedup[key]
                return Response(
                    stored["status"], stored["body"], list(stored["headers"])
                )
            try:
                response = self.router.dispatch(state, request)
            except ApiError as exc:
                response = error_response(exc)
            except Exception:  # a sandbox bug must still answer a PC error body
                traceback.print_exc(file=sys.stderr)
                response = error_response(
                    ApiError(500, 800003, "Unexpected service error")
                )
            if dedup and response.status < 500:
                state.dedup[key] = {
                    "status": response.status,
                    "body": response.payload(),
                    "headers": list(response.headers),
                }
                while len(state.dedup) > DEDUP_LIMIT:
                    state.dedup.popitem(last=False)
            return response
