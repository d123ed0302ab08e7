"""Sandbox settings and fidelity switches: defaults and validation (sandbox/README.md).

Settings tune the sandbox's plumbing (rate limit, latency, provisioning delay).
Fidelity switches choose how the sandbox plays a Partner Center behaviour the docs
leave open (UNCONFIRMED) or that tests need scaled: each is a named setting with
its allowed answers, and its default is the strictest answer, the one the product
must survive. ``GET/POST /_sandbox/fidelity`` reads and sets them per run, the
command line sets them at start (``--fidelity name=value``), and a reset restores
the values the server started with. Another area adds a switch by adding one
``Switch`` to ``FIDELITY``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

PAGE_END_STYLES = ("absent", "error2000")
DUPLICATE_REQUEST_ID_MODES = ("off", "replay", "conflict")
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

#: Plumbing settings and their defaults.
DEFAULT_SETTINGS: dict[str, Any] = {
    "rate_limit_per_minute": 3000,
    "retry_after_seconds": None,
    "provisioning_delay_seconds": 2.0,
    "latency_ms": 0,
    "page_end_style": "absent",
    "checkout_agreement_error": "request",
    "refresh_token_grace_seconds": None,
    "require_mfa": True,
    "user_tokens_mfa": True,
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


def _seconds(value: Any) -> float:
    """Return a number of seconds, 0 or more."""
    if isinstance(value, bool):
        raise ValueError("must be a number of seconds")
    number = float(value)
    if number < 0:
        raise ValueError("must be 0 or more")
    return number


@dataclass(frozen=True)
class Switch:
    """One fidelity switch: how the sandbox plays one Partner Center behaviour.

    ``answers`` are the allowed values (None: any number of seconds);
    ``plausible`` the values the chaos fidelity matrix plays (each at least
    once); ``confirmed`` is False while the docs leave the behaviour open.
    """

    strictest: Any
    answers: tuple[str, ...] | None
    plausible: tuple[Any, ...]
    confirmed: bool
    about: str
    reference: str = ""

    def convert(self, value: Any) -> Any:
        """Return ``value`` as this switch stores it; raise ValueError if not allowed."""
        if self.answers is None:
            return _seconds(value)
        return _choice(self.answers)(value)


FIDELITY: dict[str, Switch] = {
    "duplicate_request_id": Switch(
        strictest="off",
        answers=DUPLICATE_REQUEST_ID_MODES,
        plausible=DUPLICATE_REQUEST_ID_MODES,
        confirmed=False,
        about="A write repeating an MS-RequestId: off = a new request (a second "
        "order); replay = the first answer again; conflict = 409/800060.",
    ),
    "order_listing_delay_seconds": Switch(
        strictest=900.0,
        answers=None,
        plausible=(900.0, 0.0),
        confirmed=True,
        about="Sandbox-clock seconds before a new order appears in GET …/orders "
        "(Partner Center: up to 15 minutes). GET …/orders/{id} finds it at once.",
        reference="https://learn.microsoft.com/en-us/partner-center/developer/"
        "purchase-new-commerce-license-based",
    ),
    "friendly_name_copy": Switch(
        strictest="dropped",
        answers=("dropped", "copied"),
        plausible=("dropped", "copied"),
        confirmed=False,
        about="Whether an order line's friendlyName is copied onto the order and "
        "the subscription it creates (dropped: they carry the product's name).",
    ),
    "order_id_lookup": Switch(
        strictest="case_sensitive",
        answers=("case_sensitive", "case_insensitive"),
        plausible=("case_sensitive", "case_insensitive"),
        confirmed=False,
        about="Whether GET …/orders/{id} (and ?order_id=) matches the opaque, "
        "mixed-case order id only as given.",
    ),
    "checkout_repeat": Switch(
        strictest="error",
        answers=("error", "replay"),
        plausible=("error", "replay"),
        confirmed=False,
        about="A second checkout of an ordered cart: error = 400/800065 (the "
        "error-codes page); replay = the first result again (the checkout page "
        "calls the API idempotent).",
        reference="https://learn.microsoft.com/en-us/partner-center/developer/"
        "checkout-a-cart",
    ),
    "checkout_processing_seconds": Switch(
        strictest=30.0,
        answers=None,
        plausible=(30.0, 0.0),
        confirmed=False,
        about="Sandbox-clock seconds after a checkout during which another checkout "
        "of the cart answers 409/800064 (being processed by another request).",
    ),
    "cart_order_ids": Switch(
        strictest="absent",
        answers=("absent", "shown"),
        plausible=("absent", "shown"),
        confirmed=False,
        about="Whether GET …/carts/{id} of an Ordered cart lists its orderIds (the "
        "documented Cart resource has only status).",
        reference="https://learn.microsoft.com/en-us/partner-center/developer/"
        "cart-resources",
    ),
    "transition_shape": Switch(
        strictest="documented",
        answers=TRANSITION_SHAPES,
        plausible=TRANSITION_SHAPES,
        confirmed=False,
        about="A transition's answer: documented = a full transition converts the "
        "subscription in place (no toSubscriptionId, no top-level status); "
        "with_target_id = it names a target subscription and a status.",
        reference="https://learn.microsoft.com/en-us/partner-center/developer/"
        "get-transitions",
    ),
    "transition_events": Switch(
        strictest="appended",
        answers=TRANSITION_EVENT_STYLES,
        plausible=TRANSITION_EVENT_STYLES,
        confirmed=False,
        about="A transition's events: appended = an append-only log (Started, later "
        "Completed); rewritten = each event's status changed in place.",
        reference="https://learn.microsoft.com/en-us/partner-center/developer/"
        "get-transitions",
    ),
    "gdap_refusal": Switch(
        strictest="no_code",
        answers=GDAP_REFUSAL_STYLES,
        plausible=GDAP_REFUSAL_STYLES,
        confirmed=False,
        about="A role-gated call without the GDAP role: no_code = 403 with the "
        "field's 'supplied role' text; no_relationship = 403/20002; "
        "access_denied = 403/2032. A customer's gdapRefusal overrides it.",
    ),
    "mfa_refusal": Switch(
        strictest="partner_center",
        answers=MFA_REFUSAL_STYLES,
        plausible=MFA_REFUSAL_STYLES,
        confirmed=False,
        about="Where an app+user sign-in without MFA is refused: partner_center = "
        "401/10001 on the call; aadsts5007x = Entra ID at token redemption.",
    ),
}

#: Fidelity switches at their strictest answer.
DEFAULT_FIDELITY: dict[str, Any] = {k: s.strictest for k, s in FIDELITY.items()}

_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "rate_limit_per_minute": int,
    "retry_after_seconds": _optional_int,
    "provisioning_delay_seconds": float,
    "latency_ms": int,
    "page_end_style": _choice(PAGE_END_STYLES),
    "checkout_agreement_error": _choice(AGREEMENT_ERROR_STYLES),
    "refresh_token_grace_seconds": _optional_int,
    "require_mfa": _bool,
    "user_tokens_mfa": _bool,
    **{name: switch.convert for name, switch in FIDELITY.items()},
}


def validate_settings(changes: dict[str, Any]) -> dict[str, Any]:
    """Return the settings changes (fidelity switches included) coerced to their types.

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


def validate_fidelity(changes: dict[str, Any]) -> dict[str, Any]:
    """Return fidelity changes coerced; raise ValueError for anything else."""
    unknown = sorted(set(changes) - set(FIDELITY))
    if unknown:
        raise ValueError(f"unknown fidelity switch {unknown[0]!r}")
    return validate_settings(changes)


def parse_fidelity(pairs: list[str]) -> dict[str, Any]:
    """Return the switches of ``name=value`` command-line pairs, validated.

    ``strictest`` alone stands for every switch at its strictest answer.
    Raise ValueError for a malformed pair, an unknown switch or a bad value.
    """
    raw: dict[str, Any] = {}
    for pair in pairs:
        if pair == "strictest":
            raw.update(DEFAULT_FIDELITY)
            continue
        name, sep, value = pair.partition("=")
        if not sep:
            raise ValueError(f"--fidelity wants name=value, not {pair!r}")
        switch = FIDELITY.get(name)
        if switch is None:
            raise ValueError(f"unknown fidelity switch {name!r}")
        raw[name] = value
    return validate_fidelity(raw)


def describe_fidelity() -> dict[str, Any]:
    """Return every switch's answers, strictest answer and status (for GET)."""
    return {
        name: {
            "answers": list(s.answers) if s.answers is not None else "seconds",
            "strictest": s.strictest,
            "plausible": list(s.plausible),
            "confirmed": s.confirmed,
            "about": s.about,
            **({"reference": s.reference} if s.reference else {}),
        }
        for name, s in FIDELITY.items()
    }
