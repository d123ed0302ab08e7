"""What every token provider shares: caching, refresh-token keeping, failures.

Every provider caches its access token until shortly before it expires (so one
provider per process means one token per process) and can be told to drop it
(``invalidate``) after a 401.

Failures are classified once, in ``token_failure``: Entra ID unreachable, timing
out, throttling or answering 5xx is a ``TransientError`` (back off and retry);
``invalid_grant`` is ``RefreshTokenExpired``; an MFA demand is ``MfaRequired``;
anything else is an ``AuthError``. Messages never contain a secret, a refresh
token or an access token.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, Protocol

from partner_center.errors import (
    AuthError,
    MfaRequired,
    PartnerCenterError,
    RefreshTokenExpired,
    TransientError,
)

__all__ = [
    "DEFAULT_APP_SCOPE",
    "DEFAULT_AUTHORITY_HOST",
    "GRAPH_APP_SCOPE",
    "PARTNER_CENTER_RESOURCE",
    "USER_IMPERSONATION_SCOPE",
    "CachingTokenProvider",
    "MemoryRefreshTokenStore",
    "RefreshTokenChain",
    "RefreshTokenStore",
    "StaticTokenProvider",
    "TokenProvider",
    "scrub",
    "token_claims",
    "token_failure",
]

logger = logging.getLogger("partner_center.auth")

PARTNER_CENTER_RESOURCE = "https://api.partnercenter.microsoft.com"
DEFAULT_APP_SCOPE = "https://api.partnercenter.microsoft.com/.default"
# Audience that Microsoft's own tools request for app-only tokens; which audience a
# tenant accepts is UNCONFIRMED (partner-center-api.md §1.2), so both are allowed.
GRAPH_APP_SCOPE = "https://graph.windows.net/.default"
USER_IMPERSONATION_SCOPE = "https://api.partnercenter.microsoft.com/user_impersonation"
DEFAULT_AUTHORITY_HOST = "https://login.microsoftonline.com"

# Refresh this long before the token expires (or at half its life if shorter).
_REFRESH_MARGIN_SECONDS = 300.0
# Used when a token answer has no usable expires_in.
_ASSUMED_LIFETIME_SECONDS = 600.0

# Entra ID (AADSTS) codes that mean "this sign-in needs multi-factor auth".
# Reference: https://learn.microsoft.com/en-us/entra/identity-platform/reference-error-codes
# 50076 / 50079: MFA needed (or enrolment needed); 50078: the MFA presented has
# expired; 50072 / 50074 / 50158: other MFA or external-challenge demands.
_MFA_CODES = frozenset({50072, 50074, 50076, 50078, 50079, 50158})
MFA_EXPIRED_CODE = 50078
# OAuth errors a later retry can cure.
_TRANSIENT_ERRORS = frozenset({"temporarily_unavailable", "server_error"})


class TokenProvider(Protocol):
    def get_token(self) -> str:
        """Return a bearer token for Partner Center."""
        ...

    def invalidate(self) -> None:
        """Forget the cached token so the next ``get_token`` fetches a new one."""
        ...


class RefreshTokenStore(Protocol):
    """Where the current app+user refresh token lives (e.g. encrypted in a database).

    ``load`` is called before each redemption, so a token rotated by another
    process or stored after a new consent is picked up; ``save`` receives every
    rotated token. Both may raise; the provider logs a failing ``save`` and keeps
    the new token in memory.
    """

    def load(self) -> str | None:
        """Return the current refresh token, or None if none is stored."""
        ...

    def save(self, token: str) -> None:
        """Store ``token`` as the current refresh token."""
        ...


class MemoryRefreshTokenStore:
    """A refresh token kept in this process only (tests, one-off scripts)."""

    def __init__(self, token: str | None = None) -> None:
        self._token = token
        self.saved: int = 0

    def load(self) -> str | None:
        """Return the token last saved (or given)."""
        return self._token

    def save(self, token: str) -> None:
        """Keep ``token``."""
        self._token = token
        self.saved += 1

    def __repr__(self) -> str:
        return "<MemoryRefreshTokenStore>"


def scrub(text: str, *secrets: str | None) -> str:
    """Return ``text`` (at most 500 characters) with every secret masked."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text[:500]


def lifetime(expires_in: Any) -> float:
    """Return a token lifetime in seconds from ``expires_in``."""
    try:
        seconds = float(expires_in)
    except (TypeError, ValueError):
        return _ASSUMED_LIFETIME_SECONDS
    return seconds if seconds > 0 else _ASSUMED_LIFETIME_SECONDS


def token_claims(token: str | None) -> dict[str, Any]:
    """Return the claims of a JWT-shaped access token, unverified; {} if unreadable.

    For display only (e.g. whether ``amr`` holds ``mfa``); never trust them.
    """
    parts = (token or "").split(".")
    if len(parts) != 3:
        return {}
    padded = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(padded))
    except (binascii.Error, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}


def token_failure(
    where: str,
    *,
    status: int | None = None,
    error: str = "",
    description: str = "",
    secrets: tuple[str | None, ...] = (),
) -> PartnerCenterError:
    """Return the error for a failed token request to ``where``.

    ``status`` is the HTTP status when one was read; ``error`` and ``description``
    come from the OAuth error body.
    """
    detail = scrub(f"{error} {description}".strip(), *secrets)
    codes = {int(c) for c in re.findall(r"AADSTS(\d+)", description)}
    if (status is not None and (status >= 500 or status == 429)) or (
        error in _TRANSIENT_ERRORS
    ):
        shown = f"HTTP {status}" if status is not None else error
        return TransientError(
            f"Entra ID could not issue a token for {where} ({shown}); try again later",
            status=status,
            code=error or None,
            description=detail,
        )
    if codes & _MFA_CODES:
        # Checked before invalid_grant: Entra sends these as invalid_grant too.
        return MfaRequired(detail, expired=MFA_EXPIRED_CODE in codes)
    if error == "invalid_grant":
        return RefreshTokenExpired(detail)
    if error == "invalid_client":
        return AuthError(
            f"Entra ID rejected the app's credentials for {where}: the client id or "
            f"secret is wrong or the secret expired ({detail}). An admin must fix "
            "the Partner Center connection settings."
        )
    return AuthError(f"Token request for {where} failed: {detail or 'no token'}")


class CachingTokenProvider(ABC):
    """Cache a token until shortly before expiry; subclasses implement ``_fetch``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._token: str | None = None
        self._refresh_at = 0.0

    def get_token(self) -> str:
        """Return a cached token, or fetch a new one if it is close to expiry.

        Raise TransientError if Entra ID cannot answer now, AuthError (or one of
        its subclasses) if no token can be obtained with these credentials.
        """
        with self._lock:
            now = time.monotonic()
            if self._token is not None and now < self._refresh_at:
                return self._token
            token, seconds = self._fetch()
            margin = min(_REFRESH_MARGIN_SECONDS, seconds / 2)
            self._token = token
            self._refresh_at = time.monotonic() + seconds - margin
            return token

    def invalidate(self) -> None:
        """Forget the cached token."""
        with self._lock:
            self._token = None
            self._refresh_at = 0.0

    @property
    def claims(self) -> dict[str, Any]:
        """Return the unverified claims of the cached token ({} if none)."""
        return token_claims(self._token)

    @property
    def has_mfa_claim(self) -> bool | None:
        """Return whether the cached token's ``amr`` holds ``mfa`` (None if unknown)."""
        amr = self.claims.get("amr")
        return "mfa" in amr if isinstance(amr, list) else None

    @abstractmethod
    def _fetch(self) -> tuple[str, float]:
        """Return a new token and its lifetime in seconds."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


class StaticTokenProvider:
    """A fixed token (tests and tools); ``invalidate`` does nothing."""

    def __init__(self, token: str) -> None:
        self._token = token

    def get_token(self) -> str:
        """Return the fixed token."""
        return self._token

    def invalidate(self) -> None:
        """Do nothing: a fixed token cannot be renewed."""

    def __repr__(self) -> str:
        return "<StaticTokenProvider>"


class RefreshTokenChain:
    """The current refresh token of one app+user sign-in, and its rotations.

    The store (when given) is the source of truth across processes: a stored
    token other than the one this process last redeemed wins. Otherwise the
    newest token this process received is used, so a failed ``save`` loses
    nothing. Not thread-safe on its own: providers call it under their lock.
    """

    def __init__(
        self,
        initial: str | None,
        store: RefreshTokenStore | None = None,
        on_refresh_token: Callable[[str], None] | None = None,
    ) -> None:
        self._initial = initial
        self._store = store
        self._on_refresh_token = on_refresh_token
        self._used: str | None = None
        self._latest: str | None = None
        self._seen: set[str] = {initial} if initial else set()

    def current(self) -> str:
        """Return the refresh token to redeem next.

        Raise TransientError if the store cannot be read, AuthError if there is
        no refresh token at all.
        """
        stored = self._load()
        if stored and stored != self._used:
            token: str | None = stored
        else:
            token = self._latest or stored or self._initial
        if not token:
            raise AuthError(
                "No app+user refresh token is stored. An admin must sign in and "
                "consent (Secure Application Model) to connect PartnerHub."
            )
        self._seen.add(token)
        return token

    def newer_than(self, used: str) -> str | None:
        """Return a stored token other than ``used`` (rotated elsewhere), if any."""
        stored = self._load()
        return stored if stored and stored != used else None

    def redeemed(self, used: str, new: str | None) -> None:
        """Record that ``used`` was redeemed and Entra returned ``new`` (if any)."""
        self._used = used
        if not new or new == used:
            return
        self._latest = new
        self._seen.add(new)
        if self._store is not None:
            try:
                self._store.save(new)
            except Exception:
                logger.exception("Could not store the rotated refresh token")
        if self._on_refresh_token is not None:
            try:
                self._on_refresh_token(new)
            except Exception:
                logger.exception("on_refresh_token failed")

    def secrets(self) -> tuple[str, ...]:
        """Return every refresh token seen, to mask in messages."""
        return tuple(self._seen)

    def _load(self) -> str | None:
        if self._store is None:
            return None
        try:
            stored = self._store.load()
        except Exception as exc:
            raise TransientError(
                f"The stored refresh token could not be read ({type(exc).__name__})"
            ) from exc
        if stored:
            self._seen.add(stored)
        return stored or None
