"""Access-token providers for Partner Center.

Every provider caches its token until shortly before it expires and can be told to
drop it (``invalidate``) after a 401. Token failures raise ``AuthError`` whose
message never contains a secret, a refresh token or an access token.

- ``SandboxTokenProvider``: the sandbox's token endpoint (form POST, see sandbox/README.md).
- ``MsalAppTokenProvider``: app-only tokens from Entra ID (client credentials).
- ``MsalUserTokenProvider``: app+user tokens from a stored refresh token (Secure
  Application Model); licence operations and relationship requests need these.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, Protocol

import msal
import requests

from partner_center.errors import AuthError

__all__ = [
    "DEFAULT_APP_SCOPE",
    "DEFAULT_AUTHORITY_HOST",
    "GRAPH_APP_SCOPE",
    "PARTNER_CENTER_RESOURCE",
    "USER_IMPERSONATION_SCOPE",
    "MsalAppTokenProvider",
    "MsalUserTokenProvider",
    "SandboxTokenProvider",
    "StaticTokenProvider",
    "TokenProvider",
]

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


class TokenProvider(Protocol):
    def get_token(self) -> str:
        """Return a bearer token for Partner Center."""
        ...

    def invalidate(self) -> None:
        """Forget the cached token so the next ``get_token`` fetches a new one."""
        ...


def _scrub(text: str, *secrets: str | None) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text[:500]


def _lifetime(expires_in: Any) -> float:
    try:
        seconds = float(expires_in)
    except (TypeError, ValueError):
        return _ASSUMED_LIFETIME_SECONDS
    return seconds if seconds > 0 else _ASSUMED_LIFETIME_SECONDS


class _CachingTokenProvider(ABC):
    """Cache a token until shortly before expiry; subclasses implement ``_fetch``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._token: str | None = None
        self._refresh_at = 0.0

    def get_token(self) -> str:
        """Return a cached token, or fetch a new one if it is close to expiry.

        Raise AuthError if no token can be obtained.
        """
        with self._lock:
            now = time.monotonic()
            if self._token is not None and now < self._refresh_at:
                return self._token
            token, lifetime = self._fetch()
            margin = min(_REFRESH_MARGIN_SECONDS, lifetime / 2)
            self._token = token
            self._refresh_at = time.monotonic() + lifetime - margin
            return token

    def invalidate(self) -> None:
        """Forget the cached token."""
        with self._lock:
            self._token = None
            self._refresh_at = 0.0

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


class SandboxTokenProvider(_CachingTokenProvider):
    """Tokens from the sandbox: ``POST {token_url}`` with a client-credentials form.

    A v1 URL (``.../oauth2/token``) gets ``resource``; a v2 URL
    (``.../oauth2/v2.0/token``) gets ``scope``.
    """

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        *,
        resource: str = PARTNER_CENTER_RESOURCE,
        scope: str = DEFAULT_APP_SCOPE,
        timeout: tuple[float, float] = (5.0, 30.0),
        session: requests.Session | None = None,
    ) -> None:
        super().__init__()
        self.token_url = token_url
        self.client_id = client_id
        self._client_secret = client_secret
        self.resource = resource
        self.scope = scope
        self.timeout = timeout
        self._session = session or requests.Session()

    def _fetch(self) -> tuple[str, float]:
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self._client_secret,
        }
        if "/v2.0/" in self.token_url:
            form["scope"] = self.scope
        else:
            form["resource"] = self.resource
        try:
            response = self._session.post(
                self.token_url,
                data=form,
                headers={"Accept": "application/json"},
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            raise AuthError(
                f"Token endpoint {self.token_url} unreachable ({type(exc).__name__})",
                transient=True,
            ) from exc
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            body = {}
        if response.status_code != 200 or not body.get("access_token"):
            error = body.get("error") or f"HTTP {response.status_code}"
            description = body.get("error_description") or ""
            raise AuthError(
                _scrub(
                    f"Token request to {self.token_url} failed: {error} {description}",
                    self._client_secret,
                ).strip(),
                transient=response.status_code >= 500,
            )
        return str(body["access_token"]), _lifetime(body.get("expires_in"))


class _MsalTokenProvider(_CachingTokenProvider):
    def __init__(
        self,
        client_id: str,
        client_secret: str,
        tenant_id: str,
        *,
        authority_host: str = DEFAULT_AUTHORITY_HOST,
        app_factory: Callable[[], Any] | None = None,
    ) -> None:
        super().__init__()
        self.client_id = client_id
        self._client_secret = client_secret
        self.tenant_id = tenant_id
        self.authority = f"{authority_host.rstrip('/')}/{tenant_id}"
        self._app_factory = app_factory or self._build_app
        self._app: Any = None

    def _build_app(self) -> msal.ConfidentialClientApplication:
        return msal.ConfidentialClientApplication(
            self.client_id,
            client_credential=self._client_secret,
            authority=self.authority,
            timeout=30,
        )

    @abstractmethod
    def _acquire(self, app: Any) -> Any:
        """Return MSAL's token response for this provider's grant."""

    def _secrets(self) -> tuple[str | None, ...]:
        return (self._client_secret,)

    def _fetch(self) -> tuple[str, float]:
        try:
            # Built lazily: creating the app may contact the authority.
            if self._app is None:
                self._app = self._app_factory()
            result = self._acquire(self._app)
        except AuthError:
            raise
        except requests.RequestException as exc:
            raise AuthError(
                f"Entra ID unreachable for tenant {self.tenant_id} "
                f"({type(exc).__name__})",
                transient=True,
            ) from exc
        except Exception as exc:  # msal raises ValueError and friends
            raise AuthError(
                _scrub(
                    f"Token request for tenant {self.tenant_id} failed: "
                    f"{type(exc).__name__}: {exc}",
                    *self._secrets(),
                )
            ) from exc
        if not isinstance(result, dict) or not result.get("access_token"):
            result = result if isinstance(result, dict) else {}
            error = result.get("error") or "no token returned"
            description = result.get("error_description") or ""
            raise AuthError(
                _scrub(
                    f"Token request for tenant {self.tenant_id} failed: "
                    f"{error} {description}",
                    *self._secrets(),
                ).strip()
            )
        self._on_result(result)
        return str(result["access_token"]), _lifetime(result.get("expires_in"))

    def _on_result(self, result: dict[str, Any]) -> None:
        pass

    def invalidate(self) -> None:
        """Forget the cached token, including MSAL's own in-memory cache."""
        super().invalidate()
        with self._lock:
            self._app = None


class MsalAppTokenProvider(_MsalTokenProvider):
    """App-only tokens via ``ConfidentialClientApplication.acquire_token_for_client``.

    ``scope`` defaults to the Partner Center audience; pass ``GRAPH_APP_SCOPE`` for
    tenants that only accept the documented ``graph.windows.net`` audience.
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        tenant_id: str,
        *,
        scope: str = DEFAULT_APP_SCOPE,
        authority_host: str = DEFAULT_AUTHORITY_HOST,
        app_factory: Callable[[], Any] | None = None,
    ) -> None:
        super().__init__(
            client_id,
            client_secret,
            tenant_id,
            authority_host=authority_host,
            app_factory=app_factory,
        )
        self.scope = scope

    def _acquire(self, app: Any) -> Any:
        return app.acquire_token_for_client(scopes=[self.scope])


class MsalUserTokenProvider(_MsalTokenProvider):
    """App+user tokens redeemed from a refresh token (Secure Application Model).

    When Entra ID rotates the refresh token, the new one is kept and passed to
    ``on_refresh_token`` so the caller can store it.
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        tenant_id: str,
        refresh_token: str,
        *,
        scope: str = USER_IMPERSONATION_SCOPE,
        authority_host: str = DEFAULT_AUTHORITY_HOST,
        on_refresh_token: Callable[[str], None] | None = None,
        app_factory: Callable[[], Any] | None = None,
    ) -> None:
        super().__init__(
            client_id,
            client_secret,
            tenant_id,
            authority_host=authority_host,
            app_factory=app_factory,
        )
        self.scope = scope
        self._refresh_token = refresh_token
        self._on_refresh_token = on_refresh_token

    def _secrets(self) -> tuple[str | None, ...]:
        return (self._client_secret, self._refresh_token)

    def _acquire(self, app: Any) -> Any:
        return app.acquire_token_by_refresh_token(
            self._refresh_token, scopes=[self.scope]
        )

    def _on_result(self, result: dict[str, Any]) -> None:
        new = result.get("refresh_token")
        if new and new != self._refresh_token:
            self._refresh_token = str(new)
            if self._on_refresh_token is not None:
                self._on_refresh_token(self._refresh_token)
