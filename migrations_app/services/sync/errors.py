"""What can go wrong in a sync, and how it is said to a reseller."""

from __future__ import annotations

from django.db import DatabaseError

from partner_center.errors import (
    AgreementNotAccepted,
    AuthError,
    GdapAccessDenied,
    MalformedResponse,
    MfaRequired,
    NoRelationship,
    NotFound,
    PartnerCenterError,
    PermanentError,
    RefreshTokenExpired,
    Throttled,
    TransientError,
)


class SyncDataError(Exception):
    """Partner Center's answer parsed, but cannot be stored as it is."""


class SyncAlreadyRunning(Exception):
    """Another sync holds the lock; this one did nothing."""


def plain_error(exc: BaseException, what: str) -> str:
    """Return a message a reseller can read, without request ids or tokens."""
    if isinstance(exc, Throttled):
        return (
            f"Partner Center asked PartnerHub to slow down while reading {what} "
            f"(retry after {exc.retry_after:.0f} s). The next sync tries again."
        )
    if isinstance(exc, MalformedResponse):
        return f"Partner Center sent an unreadable answer for {what}: {exc.message}"
    if isinstance(exc, GdapAccessDenied | NoRelationship | AgreementNotAccepted):
        # Their words say who must grant or accept what.
        return f"Reading {what} failed: {exc.message}"
    if isinstance(exc, NotFound):
        return f"Partner Center no longer finds {what} (HTTP 404): {exc.description}"
    if isinstance(exc, PermanentError):
        code = f", code {exc.code}" if exc.code is not None else ""
        return (
            f"Partner Center refused to return {what} "
            f"(HTTP {exc.status}{code}): {exc.description}"
        )
    if isinstance(exc, TransientError):
        return f"Partner Center did not answer for {what}: {exc.message}"
    if isinstance(exc, MfaRequired | RefreshTokenExpired):
        return f"Reading {what} failed: {exc.message}"
    if isinstance(exc, AuthError):
        return f"Partner Center rejected PartnerHub's credentials for {what}."
    if isinstance(exc, PartnerCenterError):
        return f"Reading {what} failed: {exc.message}"
    if isinstance(exc, DatabaseError):
        return f"{what.capitalize()} could not be saved: {exc}"
    return f"{what.capitalize()} could not be read: {exc}"


# Errors that fail one customer (or one optional step) without stopping the run.
DATA_ERRORS: tuple[type[BaseException], ...] = (
    MalformedResponse,
    PermanentError,
    TransientError,
    AuthError,
    SyncDataError,
    ValueError,
    TypeError,
    KeyError,
    DatabaseError,
)
STEP_ERRORS: tuple[type[BaseException], ...] = (Throttled, *DATA_ERRORS)
