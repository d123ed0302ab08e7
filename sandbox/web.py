"""Small HTTP plumbing shared by the sandbox app: request/response objects, errors,
case-insensitive JSON bodies, continuation tokens and the rate-limit bucket."""

from __future__ import annotations

import base64
import binascii
import json
import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

JSON_TYPE = "application/json"


class ApiError(Exception):
    """A Partner Center error answer: HTTP status plus ``{code, description, data}``."""

    def __init__(
        self,
        status: int,
        code: int | None,
        description: str,
        data: list[str] | None = None,
        headers: list[tuple[str, str]] | None = None,
    ) -> None:
        """Create the error; a None ``code`` is left out of the body (field reports
        show refusals without one)."""
        super().__init__(description)
        self.status = status
        self.code = code
        self.description = description
        self.data = data
        self.headers = headers or []

    def body(self) -> dict[str, Any]:
        """Return the §1.7 error body."""
        body: dict[str, Any] = {"description": self.description}
        if self.code is not None:
            body = {"code": self.code, **body}
        if self.data is not None:
            body["data"] = self.data
        body["source"] = "PartnerFD"
        return body


@dataclass
class Request:
    """A parsed HTTP request (header and query names lower-cased)."""

    method: str
    path: str
    raw_query: str
    headers: dict[str, str]
    body: bytes
    query: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Parse the query string (first value wins, names lower-cased)."""
        for key, value in parse_qsl(self.raw_query, keep_blank_values=True):
            self.query.setdefault(key.lower(), value)

    def header(self, name: str) -> str | None:
        """Return a header value by case-insensitive name, or None."""
        value = self.headers.get(name.lower())
        return value if value not in (None, "") else None

    def json(self) -> Any:
        """Return the JSON body with every object key lower-cased.

        Raise ApiError 400/800002 when the body is missing or not JSON.
        """
        if not self.body.strip():
            raise ApiError(400, 800002, "Invalid request input: the body is empty.")
        try:
            parsed = json.loads(self.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ApiError(
                400, 800002, f"Invalid request input: body is not JSON ({exc})."
            ) from exc
        return lower_keys(parsed)


@dataclass
class Response:
    """A response to send: status, JSON-able body (or raw bytes) and extra headers."""

    status: int
    body: Any = None
    headers: list[tuple[str, str]] = field(default_factory=list)

    def payload(self) -> bytes:
        """Return the body as bytes."""
        if isinstance(self.body, bytes):
            return self.body
        if self.body is None:
            return b""
        return json.dumps(self.body, separators=(",", ":")).encode()


def lower_keys(value: Any) -> Any:
    """Return a copy of JSON data with every object key lower-cased (recursive)."""
    if isinstance(value, dict):
        return {str(k).lower(): lower_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [lower_keys(v) for v in value]
    return value


def snake_enum(value: str) -> str:
    """Return an enum string in lower_snake_case (``OneTime`` -> ``one_time``)."""
    text = value.strip()
    if "_" in text or text.islower():
        return text.lower()
    out: list[str] = []
    for index, char in enumerate(text):
        if char.isupper() and index > 0 and not text[index - 1].isupper():
            out.append("_")
        out.append(char.lower())
    return "".join(out)


def encode_token(scope: str, offset: int) -> str:
    """Return an opaque continuation token for a paging scope and offset."""
    raw = json.dumps({"s": scope, "o": offset}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode()


def decode_token(token: str, scope: str) -> int:
    """Return the offset inside a continuation token issued for ``scope``.

    Raise ApiError 400/2000 when the token is not one of ours or is for another scope.
    """
    try:
        raw = base64.urlsafe_b64decode(token.strip().encode())
        data = json.loads(raw)
        offset = int(data["o"])
        if data["s"] != scope or offset < 0:
            raise ValueError("scope")
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise ApiError(400, 2000, "The continuation token is invalid.") from exc
    return offset


class TokenBucket:
    """A token bucket refilled at ``per_minute`` tokens a minute (burst: one minute)."""

    def __init__(self) -> None:
        """Create an empty bucket that fills on first use."""
        self._lock = threading.Lock()
        self._rate: int | None = None
        self._tokens = 0.0
        self._updated = time.monotonic()

    def reset(self) -> None:
        """Refill the bucket completely on next use."""
        with self._lock:
            self._rate = None

    def take(self, per_minute: int) -> float:
        """Take one token; return 0 when allowed, else seconds until one is free.

        A non-positive rate means no limit.
        """
        if per_minute <= 0:
            return 0.0
        with self._lock:
            now = time.monotonic()
            if self._rate != per_minute:
                self._rate = per_minute
                self._tokens = float(per_minute)
            else:
                elapsed = now - self._updated
                self._tokens = min(
                    float(per_minute), self._tokens + elapsed * per_minute / 60.0
                )
            self._updated = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return 0.0
            return (1.0 - self._tokens) * 60.0 / per_minute


def retry_after(seconds: float) -> int:
    """Return a whole number of seconds (at least 1) for a Retry-After header."""
    return max(1, math.ceil(seconds))
