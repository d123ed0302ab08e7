"""Which typed error a refusal becomes: by HTTP status and Partner Center code.

Used by the transport for every 4xx, and by callers for the per-line errors a
cart or checkout carries inside a 2xx answer (``error_for_answer``).
"""

from __future__ import annotations

from typing import Any

from partner_center.errors import (
    AgreementNotAccepted,
    AuthError,
    Conflict,
    Forbidden,
    GdapAccessDenied,
    MfaRequired,
    NotFound,
    PartnerCenterError,
    PermanentError,
)

__all__ = [
    "ACCESS_DENIED_CODE",
    "CUSTOMER_AGREEMENT_CODE",
    "LICENCE_CHANGE_ROLES",
    "MFA_REQUIRED_CODE",
    "PARTNER_AGREEMENT_CODE",
    "TRANSITION_ROLES",
    "USER_READ_ROLES",
    "error_for_answer",
    "error_for_rejected_token",
]

# Partner Center error codes with a meaning of their own (partner-center-api.md §4.6,
# §5.2; DOMAIN.md "Access").
MFA_REQUIRED_CODE = 900421
CUSTOMER_AGREEMENT_CODE = 13605
PARTNER_AGREEMENT_CODE = 900124
ACCESS_DENIED_CODE = 2032

# GDAP roles (any one suffices) per kind of call (partner-center-api.md §7, §8).
USER_READ_ROLES = (
    "Directory Readers",
    "License Administrator",
    "User Administrator",
    "Directory Writers",
)
LICENCE_CHANGE_ROLES = (
    "License Administrator",
    "User Administrator",
    "Directory Writers",
)
TRANSITION_ROLES = ("Directory Readers", "Global Reader")


def _int(code: int | str | None) -> int | None:
    if isinstance(code, int):
        return code
    if isinstance(code, str) and code.strip().isdigit():
        return int(code.strip())
    return None


def _is_gdap(status: int, code: int | None, description: str) -> bool:
    if code == ACCESS_DENIED_CODE:
        return True
    text = description.lower()
    mentions = "granular admin" in text or "insufficient_granular" in text
    return status == 403 and mentions


def error_for_rejected_token(
    code: int | str | None,
    detail: str,
    *,
    request_id: str | None = None,
    correlation_id: str | None = None,
) -> AuthError:
    """Return the error for a 401 from Partner Center (``MfaRequired`` for 900421)."""
    if _int(code) == MFA_REQUIRED_CODE:
        return MfaRequired(detail, request_id=request_id, correlation_id=correlation_id)
    return AuthError(
        f"Partner Center rejected the token: {detail}",
        request_id=request_id,
        correlation_id=correlation_id,
    )


def error_for_answer(
    status: int,
    code: int | str | None,
    description: str,
    data: list[Any] | None = None,
    *,
    needed_roles: tuple[str, ...] = (),
    request_id: str | None = None,
    correlation_id: str | None = None,
) -> PartnerCenterError:
    """Return the typed error for a refused request (a 4xx other than 401/429).

    ``needed_roles`` names the GDAP roles the call needs, for the message of a
    ``GdapAccessDenied``.
    """
    ids: dict[str, Any] = {"request_id": request_id, "correlation_id": correlation_id}
    number = _int(code)
    if number == MFA_REQUIRED_CODE:
        return MfaRequired(f"HTTP {status}: {description}", **ids)
    if number in (CUSTOMER_AGREEMENT_CODE, PARTNER_AGREEMENT_CODE):
        return AgreementNotAccepted(status, code, description, data, **ids)
    if _is_gdap(status, number, description):
        return GdapAccessDenied(
            status, code, description, data, needed_roles=needed_roles, **ids
        )
    cls: type[PermanentError] = {
        403: Forbidden,
        404: NotFound,
        409: Conflict,
    }.get(status, PermanentError)
    return cls(status, code, description, data, **ids)
