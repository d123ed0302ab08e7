"""The HTTP core every endpoint group shares: one session, one way to call.

One ``requests.Session`` per client; a timeout on every call; the shared rate limiter
consulted before every HTTP attempt; answers parsed into ``partner_center.models``
and failures raised as ``partner_center.errors``.

Retries inside the client are deliberately narrow:

- reads (GET) are retried at most ``read_retries`` times after a 5xx, a timeout or a
  broken connection, and once after a 401 with a fresh token;
- writes are never retried: the caller owns retries and resends its stored
  MS-RequestId, after reading the state back if the outcome was ambiguous;
- a 429 is never retried: it is raised as ``Throttled`` with its Retry-After.

Hooks (see ``records.py``): ``on_write`` receives a ``WriteIntent`` just before a
write is sent; if it raises, nothing is sent and its exception reaches the caller
unchanged. ``on_call`` receives a ``CallRecord`` after every HTTP attempt (no
headers, no tokens); an exception in it is logged, never raised, because the call
has already happened.
"""

from __future__ import annotations

import copy
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Self, TypeVar
from urllib.parse import urlsplit

import requests
from pydantic import BaseModel

from partner_center.auth import TokenProvider
from partner_center.classify import error_for_answer, error_for_rejected_token
from partner_center.errors import (
    AuthError,
    PartnerCenterError,
    Throttled,
    TransientError,
    WritesDisabled,
)
from partner_center.models import ApiFault
from partner_center.ratelimit import NullRateLimiter, RateLimiter
from partner_center.records import CallRecord, WriteIntent
from partner_center.wire import (
    excerpt,
    json_default,
    may_have_been_sent,
    new_id,
    parse_fault,
    retry_after,
)

__all__ = ["Answer", "Params", "Transport"]

logger = logging.getLogger("partner_center.client")

M = TypeVar("M", bound=BaseModel)
Params = list[tuple[str, str]]

# A bad URL or header is a configuration error, not a transient failure.
_CONFIGURATION_ERRORS = (
    requests.exceptions.InvalidURL,
    requests.exceptions.MissingSchema,
    requests.exceptions.InvalidSchema,
    requests.exceptions.InvalidHeader,
)


@dataclass(frozen=True)
class Answer:
    """A non-error HTTP answer together with the ids it was sent with."""

    response: requests.Response
    request_id: str
    correlation_id: str


@dataclass
class _Call:
    """One logical call and what its attempts have used up so far."""

    method: str
    path: str
    url: str
    params: Params | None
    payload: str | None
    extra_headers: Mapping[str, str] | None
    request_id: str
    correlation_id: str
    provider: TokenProvider
    user: bool
    operation: str | None
    roles: tuple[str, ...]
    is_write: bool
    transient_attempts: int = 0
    auth_retried: bool = False


def _server_error(
    call: _Call, response: requests.Response, fault: ApiFault | None, code: str | None
) -> TransientError:
    """Return the TransientError of a 5xx or 408 answer (ambiguous for a write)."""
    return TransientError(
        f"{call.method} {call.path} failed with HTTP {response.status_code}"
        + (f", code {code}" if code else ""),
        ambiguous=call.is_write,
        status=response.status_code,
        request_id=call.request_id,
        correlation_id=call.correlation_id,
        code=code,
        description=getattr(fault, "description", None) or "",
        retry_after=(
            retry_after(response, fault)
            if response.headers.get("Retry-After")
            else None
        ),
    )


class Transport:
    """The HTTP core of ``PartnerCenterClient`` for one API root, e.g. ``.../v1``.

    ``app_tokens`` serves every call that supports app-only auth; ``user_tokens``
    (app+user) serves the calls documented as App+User only.
    """

    def __init__(
        self,
        api_base_url: str,
        app_tokens: TokenProvider,
        user_tokens: TokenProvider | None = None,
        rate_limiter: RateLimiter | None = None,
        timeout: tuple[float, float] = (5, 30),
        locale: str = "en-US",
        country: str = "US",
        application_name: str = "PartnerHub",
        on_call: Callable[[CallRecord], None] | None = None,
        max_local_wait: float = 5.0,
        *,
        on_write: Callable[[WriteIntent], None] | None = None,
        read_retries: int = 2,
        retry_backoff: float = 0.5,
        poll_interval: float = 1.0,
        poll_timeout: float = 30.0,
        session: requests.Session | None = None,
        owns_session: bool | None = None,
        read_only: bool = False,
    ) -> None:
        self.api_base_url = api_base_url.rstrip("/")
        self._base_path = urlsplit(self.api_base_url).path.rstrip("/")
        self.app_tokens = app_tokens
        self.user_tokens = user_tokens
        self.rate_limiter: RateLimiter = rate_limiter or NullRateLimiter()
        self.timeout = timeout
        self.locale = locale
        self.country = country
        self.application_name = application_name
        self.on_call = on_call
        self.on_write = on_write
        # Read-only mode: every write raises WritesDisabled before it is sent,
        # after ``on_refused`` was told (the app audits the refusal).
        self.read_only = read_only
        self.on_refused: Callable[[WriteIntent], None] | None = None
        self.max_local_wait = max_local_wait
        self.read_retries = read_retries
        self.retry_backoff = retry_backoff
        self.poll_interval = poll_interval
        self.poll_timeout = poll_timeout
        # A session passed in is the caller's to close, unless it says otherwise.
        self._owns_session = session is None if owns_session is None else owns_session
        self.session = session or requests.Session()

    def close(self) -> None:
        """Close the HTTP session, unless it is shared with the client it came from."""
        if self._owns_session:
            self.session.close()

    def with_hooks(
        self,
        *,
        on_call: Callable[[CallRecord], None] | None = None,
        on_write: Callable[[WriteIntent], None] | None = None,
    ) -> Self:
        """Return a copy that reports to these hooks and shares everything else.

        The copy uses this client's session, token providers and rate limiter, so
        building one per unit of work (one actor, one migration) costs nothing;
        closing it leaves the shared session open.
        """
        view = copy.copy(self)
        view.on_call = on_call
        view.on_write = on_write
        view._owns_session = False
        return view

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.api_base_url}>"

    # ----------------------------------------------------------------- calling

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        body: Any = None,
        extra_headers: Mapping[str, str] | None = None,
        request_id: str | None = None,
        correlation_id: str | None = None,
        user: bool = False,
        operation: str | None = None,
        roles: tuple[str, ...] = (),
    ) -> Answer:
        """Return the first non-error answer to one logical call.

        Raise the matching PartnerCenterError otherwise (see the module docstring
        for what is retried). ``roles`` names the GDAP roles the call needs, for
        the message of a ``GdapAccessDenied``.
        """
        method = method.upper()
        is_write = method not in ("GET", "HEAD")
        if is_write and not request_id:
            raise ValueError("a write needs the caller's stored MS-RequestId")
        if is_write and self.read_only:
            # First contact with a live tenant: refused before anything is sent.
            self._refuse_write(method, path, request_id or "", operation)
        call = _Call(
            method=method,
            path=path,
            url=f"{self.api_base_url}{path}",
            params=params,
            payload=None if body is None else json.dumps(body, default=json_default),
            extra_headers=extra_headers,
            request_id=request_id or new_id(),
            correlation_id=correlation_id or new_id(),
            provider=self._token(user),
            user=user,
            operation=operation,
            roles=roles,
            is_write=is_write,
        )
        while True:
            sent = self._send(call)
            if sent is None:
                continue
            answer = self._answer(call, *sent)
            if answer is not None:
                return answer

    def _send(self, call: _Call) -> tuple[requests.Response, float] | None:
        """Send one attempt; return (response, start time), or None to try again.

        Raise TransientError when the connection fails and no retry is allowed
        (ambiguous for a write that may have gone out).
        """
        self._wait_for_rate_slot(call.request_id, call.correlation_id)
        headers = self._headers(
            call.provider, call.request_id, call.correlation_id, call.payload
        )
        if call.extra_headers:
            headers.update(call.extra_headers)
        for name, value in headers.items():
            if not value.isascii():
                # http.client would fail with a bare UnicodeEncodeError.
                raise ValueError(f"The {name} header holds non-ASCII characters")
        if call.is_write and self.on_write is not None:
            # Before sending: if this raises, nothing goes out.
            self.on_write(
                WriteIntent(
                    method=call.method,
                    path=call.path,
                    request_id=call.request_id,
                    correlation_id=call.correlation_id,
                    operation=call.operation,
                )
            )
        started = time.monotonic()
        try:
            response = self.session.request(
                call.method,
                call.url,
                params=call.params or None,
                data=call.payload,
                headers=headers,
                timeout=self.timeout,
                allow_redirects=False,
            )
        except _CONFIGURATION_ERRORS:
            self._record_call(call, None, started, "configuration_error")
            raise
        except requests.RequestException as exc:
            self._lost(call, exc, started)
            return None
        except BaseException:
            # Whatever interrupted the send, the intent gets its outcome.
            self._record_call(call, None, started, "client_error")
            raise
        return response, started

    def _lost(
        self, call: _Call, exc: requests.RequestException, started: float
    ) -> None:
        """Return (to retry a read whose connection failed) or raise TransientError."""
        timed_out = isinstance(exc, requests.Timeout)
        self._record_call(
            call, None, started, "timeout" if timed_out else "connection_error"
        )
        if self._may_retry(call):
            return
        what = "timed out" if timed_out else "lost its connection"
        raise TransientError(
            f"{call.method} {call.path} {what} ({type(exc).__name__})",
            ambiguous=call.is_write and may_have_been_sent(exc),
            request_id=call.request_id,
            correlation_id=call.correlation_id,
        ) from exc

    def _may_retry(self, call: _Call) -> bool:
        """Return True (after the backoff) if a failed read may be sent again."""
        if call.is_write or call.transient_attempts >= self.read_retries:
            return False
        call.transient_attempts += 1
        time.sleep(self.retry_backoff * call.transient_attempts)
        return True

    def _answer(
        self, call: _Call, response: requests.Response, started: float
    ) -> Answer | None:
        """Return the answer, None to send again, or raise the error it means."""
        status = response.status_code
        fault = parse_fault(response) if status >= 400 else None
        code = None if fault is None or fault.code is None else str(fault.code)
        self._record_call(call, status, started, code)
        if status < 400:
            return Answer(response, call.request_id, call.correlation_id)
        if status == 401:
            # Drop the token either way, so the caller's retry gets a fresh one
            # (and an admin's new consent is picked up from the store).
            call.provider.invalidate()
            rejected = error_for_rejected_token(
                fault.code if fault else None,
                f"{call.method} {call.path}, HTTP 401"
                + (f", code {code}" if code else ""),
                description=(
                    (fault.description or fault.message or "") if fault else ""
                )
                or excerpt(response).strip(),
                request_id=call.request_id,
                correlation_id=call.correlation_id,
            )
            # A fresh token cannot add a missing MFA claim.
            retry = not call.is_write and not call.auth_retried
            if retry and type(rejected) is AuthError:
                call.auth_retried = True
                return None
            raise rejected
        if status == 429:
            raise Throttled(
                retry_after=retry_after(response, fault),
                local=False,
                request_id=call.request_id,
                correlation_id=call.correlation_id,
            )
        if status >= 500 or status == 408:
            if self._may_retry(call):
                return None
            raise _server_error(call, response, fault, code)
        raise self._refusal(
            response, fault, call.request_id, call.correlation_id, call.roles
        )

    def _record_call(
        self, call: _Call, status: int | None, started: float, code: str | None
    ) -> None:
        self._record(
            CallRecord(
                method=call.method,
                path=call.path,
                status=status,
                request_id=call.request_id,
                correlation_id=call.correlation_id,
                duration_ms=int((time.monotonic() - started) * 1000),
                error_code=code,
                is_write=call.is_write,
                operation=call.operation,
                app_user=call.user,
            )
        )

    def _headers(
        self,
        provider: TokenProvider,
        request_id: str,
        correlation_id: str,
        payload: str | None,
    ) -> dict[str, str]:
        headers = {
            "Authorization": f"Bearer {provider.get_token()}",
            "Accept": "application/json",
            "MS-RequestId": request_id,
            "MS-CorrelationId": correlation_id,
            "MS-Contract-Version": "v1",
            "X-Locale": self.locale,
            "MS-PartnerCenter-Application": self.application_name,
            "MS-PartnerCenter-Client": self.application_name,
        }
        if payload is not None:
            headers["Content-Type"] = "application/json"
        return headers

    def _refusal(
        self,
        response: requests.Response,
        fault: ApiFault | None,
        request_id: str,
        correlation_id: str,
        roles: tuple[str, ...],
    ) -> PartnerCenterError:
        description = (
            ((fault.description or fault.message) if fault else None)
            or excerpt(response).strip()
            or response.reason
            or "no description"
        )
        return error_for_answer(
            response.status_code,
            fault.code if fault else None,
            description,
            fault.data if fault else None,
            needed_roles=roles,
            request_id=request_id,
            correlation_id=correlation_id,
        )

    def _refuse_write(
        self, method: str, path: str, request_id: str, operation: str | None
    ) -> None:
        """Raise WritesDisabled for a write in read-only mode (nothing is sent)."""
        intent = WriteIntent(method, path, request_id, "", operation)
        if self.on_refused is not None:
            self.on_refused(intent)
        raise WritesDisabled(method, path, operation)

    def _token(self, user: bool) -> TokenProvider:
        if not user:
            return self.app_tokens
        if self.user_tokens is None:
            raise AuthError(
                "This operation needs app+user credentials, and none are configured"
            )
        return self.user_tokens

    def _wait_for_rate_slot(self, request_id: str, correlation_id: str) -> None:
        deadline = time.monotonic() + self.max_local_wait
        while True:
            wait = self.rate_limiter.try_acquire()
            if wait <= 0:
                return
            if time.monotonic() + wait > deadline:
                raise Throttled(
                    retry_after=wait,
                    local=True,
                    request_id=request_id,
                    correlation_id=correlation_id,
                )
            time.sleep(wait)

    def _record(self, record: CallRecord) -> None:
        logger.debug(
            "%s %s -> %s (%d ms, request %s)",
            record.method,
            record.path,
            record.status,
            record.duration_ms,
            record.request_id,
        )
        if self.on_call is None:
            return
        try:
            self.on_call(record)
        except Exception:
            # A failing recorder must not turn an applied write into an error.
            logger.exception("on_call failed for %s %s", record.method, record.path)
