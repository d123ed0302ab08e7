"""Typed errors raised by the Partner Center client.

Each class says whether a retry can help:

- ``Throttled``: yes, after ``retry_after`` seconds.
- ``TransientError``: yes, but when ``ambiguous`` is true a write may already have
  been applied, so read the state back (or resend with the same MS-RequestId).
- ``PermanentError`` and its subclasses: no, not without changing the request.
- ``AuthError``: not until the credentials are fixed.
- ``MalformedResponse``: no; the service answered with something unreadable. A 2xx
  status on a write means the write was applied.

Messages never contain tokens or secrets.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AuthError",
    "Conflict",
    "Forbidden",
    "MalformedResponse",
    "NotFound",
    "PartnerCenterError",
    "PermanentError",
    "Throttled",
    "TransientError",
    "error_for_answer",
]


class PartnerCenterError(Exception):
    """Base class of every error raised by ``partner_center``."""

    def __init__(
        self,
        message: str,
        *,
        request_id: str | None = None,
        correlation_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.request_id = request_id
        self.correlation_id = correlation_id

    def __str__(self) -> str:
        ids = []
        if self.request_id:
            ids.append(f"request {self.request_id}")
        if self.correlation_id:
            ids.append(f"correlation {self.correlation_id}")
        if not ids:
            return self.message
        return f"{self.message} ({', '.join(ids)})"


class Throttled(PartnerCenterError):
    """The call was refused for rate reasons; try again after ``retry_after``.

    ``local`` is true when the shared rate limiter refused the call before anything
    was sent, false when Partner Center answered 429.
    """

    def __init__(
        self,
        retry_after: float,
        local: bool,
        *,
        request_id: str | None = None,
        correlation_id: str | None = None,
    ) -> None:
        where = "the local rate limit" if local else "Partner Center (HTTP 429)"
        super().__init__(
            f"Throttled by {where}; retry after {retry_after:.1f} s",
            request_id=request_id,
            correlation_id=correlation_id,
        )
        self.retry_after = retry_after
        self.local = local


class TransientError(PartnerCenterError):
    """A 5xx answer, a timeout or a broken connection.

    ``ambiguous`` is true when the call was a write that may have been applied (the
    request was sent and no answer was read, or the service answered 5xx).
    """

    def __init__(
        self,
        message: str,
        *,
        ambiguous: bool = False,
        status: int | None = None,
        request_id: str | None = None,
        correlation_id: str | None = None,
        code: str | None = None,
        description: str = "",
    ) -> None:
        if ambiguous:
            message = f"{message}; the write may have been applied"
        super().__init__(message, request_id=request_id, correlation_id=correlation_id)
        self.ambiguous = ambiguous
        self.status = status
        # Partner Center's own error code and description, when the body had them.
        self.code = code
        self.description = description


class PermanentError(PartnerCenterError):
    """Partner Center refused the request (4xx); resending it will not help.

    ``code`` is the Partner Center error code (an int when it is numeric), and
    ``description`` and ``data`` come from the error body.
    """

    def __init__(
        self,
        status: int,
        code: int | str | None,
        description: str,
        data: list[Any] | None = None,
        *,
        request_id: str | None = None,
        correlation_id: str | None = None,
    ) -> None:
        label = f"HTTP {status}"
        if code is not None:
            label = f"{label}, code {code}"
        super().__init__(
            f"Partner Center refused the request ({label}): {description}",
            request_id=request_id,
            correlation_id=correlation_id,
        )
        self.status = status
        self.code = code
        self.description = description
        self.data = list(data or [])


class NotFound(PermanentError):
    """HTTP 404: the resource does not exist or is not visible to this partner."""


class Forbidden(PermanentError):
    """HTTP 403: the partner may not do this (e.g. another partner's subscription)."""


class Conflict(PermanentError):
    """HTTP 409: the resource is busy or in a conflicting state."""


class AuthError(PartnerCenterError):
    """A token could not be obtained, or Partner Center answered 401.

    ``transient`` is true when the token endpoint was unreachable or answered 5xx, so
    a later retry may succeed without changing the credentials.
    """

    def __init__(
        self,
        message: str,
        *,
        transient: bool = False,
        request_id: str | None = None,
        correlation_id: str | None = None,
    ) -> None:
        super().__init__(message, request_id=request_id, correlation_id=correlation_id)
        self.transient = transient


class MalformedResponse(PartnerCenterError):
    """The body is not JSON or does not have the expected shape.

    ``status`` is the HTTP status; a 2xx on a write means the write was applied.
    ``excerpt`` is the start of the body, for diagnosis.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None,
        excerpt: str,
        request_id: str | None = None,
        correlation_id: str | None = None,
    ) -> None:
        super().__init__(
            f"Unreadable response (HTTP {status}): {message}",
            request_id=request_id,
            correlation_id=correlation_id,
        )
        self.status = status
        self.excerpt = excerpt


def error_for_answer(
    status: int,
    code: int | str | None,
    description: str,
    data: list[Any] | None = None,
    *,
    request_id: str | None = None,
    correlation_id: str | None = None,
) -> PartnerCenterError:
    """Return the typed error for a refused request (a 4xx other than 401/429)."""
    cls: type[PermanentError] = {
        403: Forbidden,
        404: NotFound,
        409: Conflict,
    }.get(status, PermanentError)
    return cls(
        status,
        code,
        description,
        data,
        request_id=request_id,
        correlation_id=correlation_id,
    )
