"""Typed errors raised by the Partner Center client.

Each class says whether a retry can help:

- ``Throttled``: yes, after ``retry_after`` seconds.
- ``TransientError``: yes, but when ``ambiguous`` is true a write may already have
  been applied, so read the state back (or resend with the same MS-RequestId).
- ``PermanentError`` and its subclasses: no, not without changing the request.
  ``AgreementNotAccepted``, ``GdapAccessDenied`` and ``NoRelationship`` (all
  ``Forbidden``) say who must do what before a retry can succeed.
- ``WritesDisabled``: the client is read-only (``PARTNER_CENTER_READ_ONLY``); the
  write was refused before anything was sent.
- ``AuthError``: not until the credentials are fixed; ``MfaRequired`` and
  ``RefreshTokenExpired`` say an admin must sign in again. An unreachable Entra ID
  or an Entra 5xx is a ``TransientError``, not an ``AuthError``.
- ``MalformedResponse``: no; the service answered with something unreadable. A 2xx
  status on a write means the write was applied.

Messages never contain tokens or secrets, and are written for the reseller.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "CUSTOMER_AGREEMENT_STEPS",
    "AgreementNotAccepted",
    "AuthError",
    "Conflict",
    "Forbidden",
    "GdapAccessDenied",
    "MalformedResponse",
    "MfaRequired",
    "NoRelationship",
    "NotFound",
    "PartnerCenterError",
    "PermanentError",
    "RefreshTokenExpired",
    "Throttled",
    "TransientError",
    "WritesDisabled",
]


# The code of an unaccepted Microsoft Partner Agreement (see classify.py).
_PARTNER_AGREEMENT_CODE = "900124"
# Reference: https://learn.microsoft.com/en-us/partner-center/developer/confirm-customer-consent-customer-agreement
#: What settles a customer agreement that Partner Center has not recorded.
CUSTOMER_AGREEMENT_STEPS = (
    "A global or billing admin of the customer accepts it, or the partner attests "
    "the customer's acceptance: in Partner Center (Customers, the customer, "
    "Account, Microsoft Customer Agreement) or through the API (POST "
    "/customers/{id}/agreements with the accepting contact and date)."
)


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
        retry_after: float | None = None,
    ) -> None:
        if ambiguous:
            message = f"{message}; the write may have been applied"
        super().__init__(message, request_id=request_id, correlation_id=correlation_id)
        self.ambiguous = ambiguous
        self.status = status
        # Seconds the service asked to wait (a 503's Retry-After), when it said.
        self.retry_after = retry_after
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

    ``transient`` is always False: a failure a retry can cure (Entra ID unreachable
    or answering 5xx) is raised as ``TransientError`` instead. The attribute stays
    for callers that still read it.
    """

    transient = False


class MfaRequired(AuthError):
    """The app+user sign-in has no valid multi-factor claim.

    Partner Center answers 401 "Authentication failed. MFA required. (10001)";
    Entra ID refuses the token redemption with AADSTS50076 / 50079 (MFA needed or
    not enrolled) or AADSTS50078 (the MFA presented has expired). Since April 2026
    Partner Center refuses app+user calls without MFA: an admin must sign in
    again with MFA so a new refresh token is stored. ``expired`` is true for
    AADSTS50078.
    """

    def __init__(
        self,
        detail: str = "",
        *,
        expired: bool = False,
        request_id: str | None = None,
        correlation_id: str | None = None,
    ) -> None:
        self.expired = expired
        cause = (
            "The multi-factor authentication (MFA) of the stored app+user sign-in "
            "has expired"
            if expired
            else "The app+user sign-in lacks multi-factor authentication (MFA)"
        )
        text = (
            f"{cause}, which Partner Center requires on app+user calls. Sign in "
            "again with MFA: an admin of the partner tenant signs in with MFA and "
            "consents, so a new refresh token is stored."
        )
        super().__init__(
            f"{text} ({detail})" if detail else text,
            request_id=request_id,
            correlation_id=correlation_id,
        )


class RefreshTokenExpired(AuthError):
    """Entra ID refused the stored app+user refresh token (``invalid_grant``).

    It expired (e.g. AADSTS700082, unused for 90 days) or was revoked; only a new
    interactive sign-in and consent by an admin gives a new one.
    """

    def __init__(self, detail: str = "") -> None:
        text = (
            "The stored app+user refresh token has expired or was revoked. An admin "
            "must sign in again and consent (Secure Application Model), so a new "
            "refresh token is stored."
        )
        super().__init__(f"{text} ({detail})" if detail else text)


class AgreementNotAccepted(Forbidden):
    """HTTP 403 because an agreement is not accepted (13605 customer, 900124 partner).

    ``party`` is ``"customer"`` or ``"partner"``; ``agreement`` names it and
    ``where`` says where it is accepted.
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
        super().__init__(
            status,
            code,
            description,
            data,
            request_id=request_id,
            correlation_id=correlation_id,
        )
        if str(code).strip() == _PARTNER_AGREEMENT_CODE:
            self.party = "partner"
            self.agreement = "Microsoft Partner Agreement"
            self.where = (
                "A global admin of the partner's own tenant accepts it in Partner "
                "Center (Settings, Account settings, Legal info, Partner tab)."
            )
        else:
            self.party = "customer"
            self.agreement = "Microsoft Customer Agreement"
            self.where = CUSTOMER_AGREEMENT_STEPS
        self.message = (
            f"The {self.party} has not accepted the {self.agreement} (code {code}), "
            f"so Partner Center refuses this purchase or change. {self.where} "
            "Then try again."
        )


class GdapAccessDenied(Forbidden):
    """HTTP 403 on a role-gated call: probably a GDAP role the relationship lacks.

    Raised for 403/2032, for a 403 that describes missing granular admin rights or
    "The supplied role does not have the rights to perform the requested
    operation" (no code), and for any other 403 on a call that needs GDAP roles
    unless its code means something else (20002, 13605, 900124). ``needed_roles``
    names the Entra roles (any one suffices) the call needs.
    """

    def __init__(
        self,
        status: int,
        code: int | str | None,
        description: str,
        data: list[Any] | None = None,
        *,
        needed_roles: tuple[str, ...] = (),
        request_id: str | None = None,
        correlation_id: str | None = None,
    ) -> None:
        super().__init__(
            status,
            code,
            description,
            data,
            request_id=request_id,
            correlation_id=correlation_id,
        )
        self.needed_roles = needed_roles
        needs = " or ".join(needed_roles) if needed_roles else "a role this call needs"
        self.missing_permission = needs
        shown = f"code {code}" if code is not None else f"HTTP {status}, no code"
        self.message = (
            f"Partner Center denied access to this customer ({shown}: "
            f"{description.strip()[:200]}): the partner's granular admin (GDAP) "
            f"access probably lacks {needs}. The customer must approve a GDAP "
            "relationship that grants it (or renew one that expired), or the "
            "partner's own user needs that role in the partner tenant; then try "
            "again."
        )


class NoRelationship(Forbidden):
    """HTTP 403 code 20002: no relationship between the partner and the customer.

    The reseller relationship was removed, or the tenant is another partner's
    customer: nothing about this customer can be read or changed until the
    customer accepts a reseller relationship again.
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
        super().__init__(
            status,
            code,
            description,
            data,
            request_id=request_id,
            correlation_id=correlation_id,
        )
        self.missing_permission = "a reseller relationship with the customer"
        self.message = (
            f"Partner Center says there is no relationship between the partner and "
            f"this customer (code {code}). The customer must accept a reseller "
            "relationship again (send a new invitation from the customer list); "
            "nothing was bought or changed."
        )


class WritesDisabled(PartnerCenterError):
    """The client is read-only (``PARTNER_CENTER_READ_ONLY=1``): nothing was sent.

    ``method``, ``path`` and ``operation`` name the write that was refused.
    """

    def __init__(self, method: str, path: str, operation: str | None = None) -> None:
        super().__init__(
            f"PartnerHub is in read-only mode (PARTNER_CENTER_READ_ONLY=1), so it "
            f"did not send {method} {path}. Nothing was changed in Partner Center; "
            "turn read-only mode off in the settings to allow writes."
        )
        self.method = method
        self.path = path
        self.operation = operation


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
