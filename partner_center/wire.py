"""Small pure helpers for the HTTP layer: ids, paths, bodies, faults, Retry-After."""

from __future__ import annotations

import email.utils
import re
import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote

import requests
from pydantic import BaseModel, ValidationError
from pydantic.alias_generators import to_camel
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError

from partner_center.models import ApiFault, normalise_id

DEFAULT_RETRY_AFTER_SECONDS = 60.0
_EXCERPT_CHARS = 200


def new_id() -> str:
    """Return a fresh GUID string for MS-RequestId or MS-CorrelationId."""
    return str(uuid.uuid4())


def seg(value: str | uuid.UUID) -> str:
    """Return a path segment for an id: GUIDs lower-cased, everything escaped."""
    return quote(normalise_id(str(value)), safe="")


def raw_seg(value: str) -> str:
    """Return a path segment for a catalogue or offer id, kept as documented."""
    return quote(str(value), safe="")


def excerpt(response: requests.Response) -> str:
    """Return the start of a response body, for diagnosis."""
    try:
        text = response.text
    except Exception:  # undecodable body
        return ""
    return text[:_EXCERPT_CHARS]


def may_have_been_sent(exc: requests.RequestException) -> bool:
    """Return False only when the request certainly never left this process."""
    if isinstance(exc, requests.ConnectTimeout):
        return False
    if isinstance(exc, requests.ConnectionError):
        reason: Any = exc.args[0] if exc.args else None
        if isinstance(reason, MaxRetryError):
            reason = reason.reason
        # NewConnectionError and NameResolutionError are ConnectTimeoutErrors too.
        if isinstance(reason, ConnectTimeoutError):
            return False
    return True


def parse_fault(response: requests.Response) -> ApiFault | None:
    """Return the error body of a response, or None if it has none."""
    try:
        data = response.json()
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    try:
        return ApiFault.model_validate(data)
    except ValidationError:
        return None


def retry_after(response: requests.Response, fault: ApiFault | None) -> float:
    """Return the seconds to wait from Retry-After (seconds or HTTP date) or body."""
    raw = response.headers.get("Retry-After", "").strip()
    if raw:
        try:
            return max(0.0, float(raw))
        except ValueError:
            pass
        try:
            when = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            when = None
        if when is not None:
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            return max(0.0, (when - datetime.now(UTC)).total_seconds())
    # "Rate limit is exceeded. Try again in 57 seconds."
    text = (fault.message or fault.description or "") if fault else ""
    match = re.search(r"(\d+(?:\.\d+)?)\s*second", text)
    if match:
        return float(match.group(1))
    return DEFAULT_RETRY_AFTER_SECONDS


def camel_keys(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``changes`` with snake_case top-level keys in camelCase."""
    return {(to_camel(k) if "_" in k else k): v for k, v in changes.items()}


def json_default(value: Any) -> Any:
    """Serialise datetimes, UUIDs and models the way Partner Center expects."""
    if isinstance(value, datetime | date):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True, exclude_none=True)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def quote_etag(etag: str) -> str:
    """Return an ETag quoted for If-Match."""
    etag = etag.strip()
    if etag.startswith('"') or etag.startswith("W/"):
        return etag
    return f'"{etag}"'


def as_body(item: BaseModel | Mapping[str, Any], exclude: set[str]) -> dict[str, Any]:
    """Return a request body (camelCase) from a model or a mapping.

    Only the fields a model was given (or parsed with) are sent.
    """
    if isinstance(item, BaseModel):
        return item.model_dump(
            mode="json",
            by_alias=True,
            exclude_none=True,
            exclude_unset=True,
            exclude=exclude,
        )
    return camel_keys(item)


def normalise_body_ids(body: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """Return ``body`` with the GUIDs under ``keys`` lower-cased."""
    for key in keys:
        value = body.get(key)
        if isinstance(value, str):
            body[key] = normalise_id(value)
    return body
