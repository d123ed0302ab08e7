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
#: How a role-gated call without the GDAP role is refused (fidelity switch; a
#: customer's ``gdapRefusal`` overrides it, per operation too): 403 with the
#: field's "supplied role" text and no code, 403/20002, or 403/2032.
GDAP_REFUSAL_STYLES = ("no_code", "no_relationship", "access_denied")
#: Where a sign-in without MFA is refused: Partner Center's 401/10001 on the call,
#: or Entra ID at token redemption with AADSTS50076, 50078 (expired) or 50079.
MFA_REFUSAL_STYLES = ("partner_center", "aadsts50076", "aadsts50078", "aadsts50079")

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
    "require_mfa": True,
    "user_tokens_mfa": True,
    "transition_shape": TRANSITION_SHAPES[0],
    "transition_events": TRANSITION_EVENT_STYLES[0],
    "gdap_refusal": "no_code",
    "mfa_refusal": "partner_center",
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
    "gdap_refusal": _choice(GDAP_REFUSAL_STYLES),
    "mfa_refusal": _choice(MFA_REFUSAL_STYLES),
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
