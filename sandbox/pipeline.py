"""The ``/v1`` request pipeline.

latency -> rate limit (429) -> bearer token (401, 900421) -> fault rules answered
before any work (429/500/503) -> MS-RequestId de-duplication of writes (the
``duplicate_request_id`` fidelity switch: off, replay or conflict) -> settle
(provisioning, transitions, renewals due by the clock) and the handler, under the
state lock -> request log and save (``--state-file``) -> faults applied after the
write (drop_response, malformed_json, timeout).
"""

from __future__ import annotations

import base64
import sys
import time
import traceback
import uuid
from datetime import UTC, datetime
from typing import Any

from sandbox import provisioning
from sandbox.api import Router
from sandbox.faults import POST_ACTIONS, FaultBook
from sandbox.persist import Persister
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
        #: Saves the state after a change (``--state-file``), or None.
        self.persister: Persister | None = None

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
            "fault_rule": None,
            "applied": False,
        }
        with state.lock:
            settings = dict(state.settings)
        if settings["latency_ms"] > 0:
            time.sleep(settings["latency_ms"] / 1000)

        rule: dict[str, Any] | None = None
        response, rule = self._pre_checks(request, settings, entry)
        post: str | None = None
        if response is None:
            response = self._run_handler(request, supplied_id, settings, entry)
            if entry["fault"] in POST_ACTIONS:
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
            if entry["applied"]:
                state.writes.append(
                    {
                        "ms_request_id": request_id,
                        "method": request.method,
                        "path": request.path,
                        "status": response.status,
                        "at": entry["at"],
                        "fault": entry["fault"],
                    }
                )
        if self.persister is not None:
            self.persister.flush()
        if post == "timeout":
            time.sleep(self._timeout_seconds(rule, settings))
        return response, note

    @staticmethod
    def _timeout_seconds(
        rule: dict[str, Any] | None, settings: dict[str, Any]
    ) -> float:
        """Return how long a ``timeout`` fault holds the answer back."""
        if rule is not None and rule.get("delay_ms") is not None:
            return float(rule["delay_ms"]) / 1000
        if settings["latency_ms"] > 0:
            return float(settings["latency_ms"]) / 1000
        return 30.0

    def _pre_checks(
        self, request: Request, settings: dict[str, Any], entry: dict[str, Any]
    ) -> tuple[Response | None, dict[str, Any] | None]:
        """Return (rejection or None to go on, the fault rule that fired)."""
        wait = self.bucket.take(int(settings["rate_limit_per_minute"]))
        if wait > 0:
            seconds = settings["retry_after_seconds"] or retry_after(wait)
            return throttled(int(seconds)), None
        try:
            self.tokens.authorise(request)
        except ApiError as exc:
            return error_response(exc), None
        with self.state.lock:
            rule = self.faults.match(self.state.faults, request)
        if rule is None:
            return None, None
        action = str(rule["action"])
        entry["fault"] = action
        entry["fault_rule"] = rule["id"]
        seconds = rule.get("retry_after")
        if seconds is None:
            seconds = settings["retry_after_seconds"] or 1
        if action == "429":
            return throttled(int(seconds)), rule
        if action == "500":
            error = ApiError(500, 800003, "Unexpected service error")
            return error_response(error), rule
        if action == "503":
            error = ApiError(
                503,
                503,
                "The service is temporarily unavailable. Try again later.",
                headers=[("Retry-After", str(int(seconds)))],
            )
            return error_response(error), rule
        return None, rule

    def _run_handler(
        self,
        request: Request,
        supplied_id: str | None,
        settings: dict[str, Any],
        entry: dict[str, Any],
    ) -> Response:
        """Dispatch under the state lock, with MS-RequestId de-duplication."""
        state = self.state
        # duplicate_request_id=off: a repeated MS-RequestId is a new request.
        dedup = (
            request.method in WRITE_METHODS
            and supplied_id is not None
            and settings["duplicate_request_id"] != "off"
        )
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
                provisioning.settle(state)
                response = self.router.dispatch(state, request)
            except ApiError as exc:
                response = error_response(exc)
            except Exception:  # a sandbox bug must still answer a PC error body
                traceback.print_exc(file=sys.stderr)
                response = error_response(
                    ApiError(500, 800003, "Unexpected service error")
                )
            if request.method in WRITE_METHODS and response.status < 300:
                entry["applied"] = True
                state.dirty = True
            if dedup and response.status < 500:
                state.dedup[key] = {
                    "status": response.status,
                    "body": response.payload(),
                    "headers": list(response.headers),
                }
                while len(state.dedup) > DEDUP_LIMIT:
                    state.dedup.popitem(last=False)
            return response
