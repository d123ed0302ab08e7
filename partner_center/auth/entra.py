"""Tokens from Entra ID through ``msal`` (live Partner Center).

- ``MsalAppTokenProvider``: app-only tokens (client credentials).
- ``MsalUserTokenProvider``: app+user tokens from a stored, rotating refresh token
  (Secure Application Model); licence operations and relationship requests need
  these.
"""

from __future__ import annotations

import re
from abc import abstractmethod
from collections.abc import Callable
from typing import Any

import msal
import requests

from partner_center.auth.base import (
    DEFAULT_APP_SCOPE,
    DEFAULT_AUTHORITY_HOST,
    USER_IMPERSONATION_SCOPE,
    CachingTokenProvider,
    RefreshTokenChain,
    RefreshTokenStore,
    lifetime,
    scrub,
    token_failure,
)
from partner_center.errors import AuthError, RefreshTokenExpired, TransientError

__all__ = ["MsalAppTokenProvider", "MsalUserTokenProvider"]

_HTTP_STATUS = re.compile(r"HTTP Error: (\d{3})")


class _MsalTokenProvider(CachingTokenProvider):
    def __init__(
        self,
        client_id: str,
        client_secret: str,
        tenant_id: str,
        *,
        authority_host: str = DEFAULT_AUTHORITY_HOST,
        timeout: tuple[float, float] = (5.0, 30.0),
        http_client: requests.Session | None = None,
        app_factory: Callable[[], Any] | None = None,
    ) -> None:
        super().__init__()
        self.client_id = client_id
        self._client_secret = client_secret
        self.tenant_id = tenant_id
        self.authority = f"{authority_host.rstrip('/')}/{tenant_id}"
        self.timeout = timeout
        self._http_client = http_client or requests.Session()
        self._app_factory = app_factory or self._build_app
        self._app: Any = None

    def _build_app(self) -> msal.ConfidentialClientApplication:
        return msal.ConfidentialClientApplication(
            self.client_id,
            client_credential=self._client_secret,
            authority=self.authority,
            http_client=self._http_client,
            timeout=self.timeout,
            # login.microsoftonline.com and the sovereign clouds need none.
            instance_discovery=False,
        )

    @abstractmethod
    def _acquire(self, app: Any) -> Any:
        """Return MSAL's token response for this provider's grant."""

    def _secrets(self) -> tuple[str | None, ...]:
        return (self._client_secret,)

    def _where(self) -> str:
        return f"tenant {self.tenant_id}"

    def _redeem(self) -> dict[str, Any]:
        """Return MSAL's successful answer, or raise the classified failure."""
        try:
            # Built lazily: creating the app contacts the authority.
            if self._app is None:
                self._app = self._app_factory()
            result = self._acquire(self._app)
        except (AuthError, TransientError):
            raise
        except requests.HTTPError as exc:
            status = exc.response.status_code if exc.response is not None else None
            raise token_failure(self._where(), status=status) from exc
        except requests.RequestException as exc:
            raise TransientError(
                f"Entra ID unreachable for {self._where()} ({type(exc).__name__})"
            ) from exc
        except Exception as exc:  # msal raises ValueError, MsalServiceError, ...
            match = _HTTP_STATUS.search(str(exc))
            if match:
                raise token_failure(self._where(), status=int(match.group(1))) from exc
            raise AuthError(
                scrub(
                    f"Token request for {self._where()} failed: "
                    f"{type(exc).__name__}: {exc}",
                    *self._secrets(),
                )
            ) from exc
        if not isinstance(result, dict) or not result.get("access_token"):
            result = result if isinstance(result, dict) else {}
            raise token_failure(
                self._where(),
                error=str(result.get("error") or "no token returned"),
                description=str(result.get("error_description") or ""),
                secrets=self._secrets(),
            )
        return result

    def _fetch(self) -> tuple[str, float]:
        result = self._redeem()
        return str(result["access_token"]), lifetime(result.get("expires_in"))

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
        timeout: tuple[float, float] = (5.0, 30.0),
        http_client: requests.Session | None = None,
        app_factory: Callable[[], Any] | None = None,
    ) -> None:
        super().__init__(
            client_id,
            client_secret,
            tenant_id,
            authority_host=authority_host,
            timeout=timeout,
            http_client=http_client,
            app_factory=app_factory,
        )
        self.scope = scope

    def _acquire(self, app: Any) -> Any:
        return app.acquire_token_for_client(scopes=[self.scope])


class MsalUserTokenProvider(_MsalTokenProvider):
    """App+user tokens redeemed from a refresh token (Secure Application Model).

    The refresh token is read from ``store`` before each redemption (falling back
    to ``refresh_token``); every rotated one Entra ID returns is saved to
    ``store`` and passed to ``on_refresh_token``. If Entra refuses the token with
    ``invalid_grant`` and the store holds a different one (rotated by another
    process), that one is tried once.
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        tenant_id: str,
        refresh_token: str | None = None,
        *,
        store: RefreshTokenStore | None = None,
        scope: str = USER_IMPERSONATION_SCOPE,
        authority_host: str = DEFAULT_AUTHORITY_HOST,
        on_refresh_token: Callable[[str], None] | None = None,
        timeout: tuple[float, float] = (5.0, 30.0),
        http_client: requests.Session | None = None,
        app_factory: Callable[[], Any] | None = None,
    ) -> None:
        super().__init__(
            client_id,
            client_secret,
            tenant_id,
            authority_host=authority_host,
            timeout=timeout,
            http_client=http_client,
            app_factory=app_factory,
        )
        self.scope = scope
        self.chain = RefreshTokenChain(refresh_token, store, on_refresh_token)
        self._using: str | None = None

    def _secrets(self) -> tuple[str | None, ...]:
        return (self._client_secret, *self.chain.secrets())

    def _acquire(self, app: Any) -> Any:
        return app.acquire_token_by_refresh_token(self._using, scopes=[self.scope])

    def _fetch(self) -> tuple[str, float]:
        self._using = self.chain.current()
        try:
            result = self._redeem()
        except RefreshTokenExpired:
            newer = self.chain.newer_than(self._using)
            if newer is None:
                raise
            self._using = newer
            result = self._redeem()
        self.chain.redeemed(self._using, result.get("refresh_token"))
        return str(result["access_token"]), lifetime(result.get("expires_in"))
