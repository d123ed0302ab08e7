"""Which typed error a refusal becomes: by HTTP status and Partner Center code.

Used by the transport for every 4xx, and by callers for the per-line errors a
cart or checkout carries inside a 2xx answer (``error_for_answer``).
"""

from __future__ import annotations

import re
from typing import Any

from partner_center.errors import (
    AgreementNotAccepted,
    AuthError,
    Conflict,
    Forbidden,
    GdapAccessDenied,
    MfaRequired,
    NoRelationship,
    NotFound,
    PartnerCenterError,
    PermanentError,
)

__all__ = [
    "ACCESS_DENIED_CODE",
    "CUSTOMER_AGREEMENT_CODE",
    "LICENCE_CHANGE_ROLES",
    "MFA_REQUIRED_CODE",
    "NO_RELATIONSHIP_CODE",
    "PARTNER_AGREEMENT_CODE",
    "SUBSCRIBED_SKU_ROLES",
    "TRANSITION_ROLES",
    "USER_READ_ROLES",
    "error_for_answer",
    "error_for_rejected_token",
    "is_mfa_refusal",
]

# Partner Center error codes with a meaning of their own (partner-center-api.md §4.6,
# §5.2; DOMAIN.md "Access").
# Reference: https://github.com/microsoft/Partner-Center-DotNet-Samples/issues/59
# Reference: https://github.com/microsoft/Partner-Center-PowerShell/issues/331
# ("Authentication failed. MFA required. (10001)" on app+user calls.)
MFA_REQUIRED_CODE = 10001
CUSTOMER_AGREEMENT_CODE = 13605
PARTNER_AGREEMENT_CODE = 900124
ACCESS_DENIED_CODE = 2032
# Reference: https://learn.microsoft.com/en-us/partner-center/developer/error-codes
# ("The partner id {0} has no commerce relationship with the customer id {1}").
NO_RELATIONSHIP_CODE = 20002
# 403 codes that mean something other than a missing GDAP role.
_NOT_GDAP_CODES = frozenset(
    {NO_RELATIONSHIP_CODE, CUSTOMER_AGREEMENT_CODE, PARTNER_AGREEMENT_CODE}
)
# The refusal reported from the field without a code.
# Reference: https://github.com/microsoft/Partner-Center-PowerShell/issues/141
# Reference: https://github.com/PartnerCenterSamples/Partner-Center-SDK-Samples/issues/14
ROLE_REFUSAL_TEXT = "supplied role does not have the rights"
_MFA_WORDS = re.compile(r"\bmfa\b|multi-factor|multifactor")

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
# Reference: https://learn.microsoft.com/en-us/partner-center/developer/get-a-list-of-available-licenses
SUBSCRIBED_SKU_ROLES = (
    "Directory Readers",
    "Global Reader",
    "User Administrator",
    "License Administrator",
)


def _int(code: int | str | None) -> int | None:
    if isinstance(code, int):
        return code
    if isinstance(code, str) and code.strip().isdigit():
        return int(code.strip())
    return None


def _is_gdap(status: int, code: int | None, description: str, role_gated: bool) -> bool:
    """Return True if a refusal is (probably) a GDAP role the partner lacks.

    2032 always is; so is a 403 whose words say so. On a call that needs GDAP
    roles, any other 403 is too, unless its code means something else.
    """
    if code == ACCESS_DENIED_CODE:
        return True
    if status != 403 or code in _NOT_GDAP_CODES:
        return False
    text = description.lower()
    if "granular admin" in text or "insufficient_granular" in text:
        return True
    return ROLE_REFUSAL_TEXT in text or role_gated


def is_mfa_refusal(code: int | str | None, description: str) -> bool:
    """Return True if a Partner Center refusal says the sign-in lacks MFA.

    Code 10001, or words naming MFA as required (the body's code may be absent
    or written inside the description, "… MFA required. (10001)").
    """
    if _int(code) == MFA_REQUIRED_CODE:
        return True
    text = description.lower()
    if "(10001)" in text:
        return True
    return bool(_MFA_WORDS.search(text)) and "required" in text


def error_for_rejected_token(
    code: int | str | None,
    detail: str,
    *,
    description: str = "",
    request_id: str | None = None,
    correlation_id: str | None = None,
) -> AuthError:
    """Return the error for a 401 from Partner Center.

    ``MfaRequired`` for code 10001 or an MFA text in ``description``; otherwise
    an ``AuthError`` saying the token was rejected.
    """
    if is_mfa_refusal(code, description):
        shown = f"{detail}: {description}" if description else detail
        return MfaRequired(shown, request_id=request_id, correlation_id=correlation_id)
    return AuthError(
        f"Partner Center rejected the token: {detail}. If this keeps happening, "
        "sign in again (with MFA) in the settings.",
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

    ``needed_roles`` names the GDAP roles the call needs (empty when it needs
    none): a 403 on such a call is a probable GDAP gap unless its code says
    otherwise (``GdapAccessDenied``). 20002 is ``NoRelationship``.
    """
    ids: dict[str, Any] = {"request_id": request_id, "correlation_id": correlation_id}
    number = _int(code)
    if status in (401, 403) and is_mfa_refusal(number, description):
        return MfaRequired(f"HTTP {status}: {description}", **ids)
    if number in (CUSTOMER_AGREEMENT_CODE, PARTNER_AGREEMENT_CODE):
        return AgreementNotAccepted(status, code, description, data, **ids)
    if status == 403 and number == NO_RELATIONSHIP_CODE:
        return NoRelationship(status, code, description, data, **ids)
    if _is_gdap(status, number, description, bool(needed_roles)):
        return GdapAccessDenied(
            status, code, description, data, needed_roles=needed_roles, **ids
        )
    cls: type[PermanentError] = {
        403: Forbidden,
        404: NotFound,
        409: Conflict,
    }.get(status, PermanentError)
    return cls(status, code, description, data, **ids)
