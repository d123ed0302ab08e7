"""Sandbox settings: their defaults and validation (documented in sandbox/README.md)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

PAGE_END_STYLES = ("absent", "error2000")
DUPLICATE_REQUEST_ID_MODES = ("replay", "conflict")
AGREEMENT_ERROR_STYLES = ("request", "order_errors")
# Fidelity of a transition's answer (UNCONFIRMED beyond Microsoft's examples; the
# first value is the documented, strictest one).
# Reference: https://learn.microsoft.com/en-us/partner-center/developer/get-transitions
TRANSITION_SHAPES = ("documented", "with_target_id")
TRANSITION_EVENT_STYLES = ("appended", "rewritten")

#: Settings and their defaults.
DEFAULT_SETTINGS: dict[str, Any] = {
    "rate_limit_per_minute": 3000,
    "retry_after_seconds": None,
    "provisioning_delay_seconds": 2.0,
    "latency_ms": 0,
    "page_end_style": "absent",
    "duplicate_request_id": "replay",
    "checkout_agreement_error": "request",
    "refresh_token_grace_seconds": None,
    "require_mfa": False,
    "user_tokens_mfa": True,
    "transition_shape": TRANSITION_SHAPES[0],
    "transition_events": TRANSITION_EVENT_STYLES[0],
}


def _choice(options: tuple[str, ...]) -> Callable[[Any], str]:
    """Return a converter accepting one of ``options``."""

    def convert(value: Any) -> str:
        if value not in options:
            raise ValueError(f"must be one of {options}")
        return str(value)

    return convert


def _optional_int(value: Any) -> int | None:
    """Return None or an int."""
    return None if value is None else int(value)


def _bool(value: Any) -> bool:
    """Return a JSON boolean (no truthy strings)."""
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "rate_limit_per_minute": int,
    "retry_after_seconds": _optional_int,
    "provisioning_delay_seconds": float,
    "latency_ms": int,
    "page_end_style": _choice(PAGE_END_STYLES),
    "duplicate_request_id": _choice(DUPLICATE_REQUEST_ID_MODES),
    "checkout_agreement_error": _choice(AGREEMENT_ERROR_STYLES),
    "refresh_token_grace_seconds": _optional_int,
    "require_mfa": _bool,
    "user_tokens_mfa": _bool,
    "transition_shape": _choice(TRANSITION_SHAPES),
    "transition_events": _choice(TRANSITION_EVENT_STYLES),
}


def validate_settings(changes: dict[str, Any]) -> dict[str, Any]:
    """Return the settings changes coerced to their types.

    Raise ValueError for an unknown key or a bad value.
    """
    clean: dict[str, Any] = {}
    for key, value in changes.items():
        convert = _CONVERTERS.get(key)
        if convert is None:
            raise ValueError(f"unknown setting {key!r}")
        try:
            clean[key] = convert(value)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"bad value for {key}: {exc}") from exc
    return clean
