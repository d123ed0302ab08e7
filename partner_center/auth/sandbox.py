"""Tokens from the sandbox's Entra-like endpoint (form POST, see sandbox/README.md)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests

from partner_center.auth.base import (
    DEFAULT_APP_SCOPE,
    PARTNER_CENTER_RESOURCE,
    CachingTokenProvider,
    RefreshTokenChain,
    RefreshTokenStore,
    lifetime,
    token_failure,
)
from partner_center.errors import RefreshTokenExpired, TransientError

__all__ = ["SandboxTokenProvider", "SandboxUserTokenProvider"]


class SandboxTokenProvider(CachingTokenProvider):
    """App tokens from the sandbox: ``POST {token_url}`` with client credentials.

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

    def _grant(self) -> dict[str, str]:
        return {"grant_type": "client_credentials"}

    def _secrets(self) -> tuple[str | None, ...]:
        return (self._client_secret,)

    def _post(self, grant: dict[str, str]) -> dict[str, Any]:
        """Return the token answer for ``grant``, or raise the classified failure."""
        form = {
            **grant,
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
            raise TransientError(
                f"Token endpoint {self.token_url} unreachable ({type(exc).__name__})"
            ) from exc
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            body = {}
        if response.status_code != 200 or not body.get("access_token"):
            raise token_failure(
                self.token_url,
                status=response.status_code,
                error=str(body.get("error") or f"HTTP {response.status_code}"),
                description=str(body.get("error_description") or ""),
                secrets=self._secrets(),
            )
        return body

    def _fetch(self) -> tuple[str, float]:
        body = self._post(self._grant())
        return str(body["access_token"]), lifetime(body.get("expires_in"))


class SandboxUserTokenProvider(SandboxTokenProvider):
    """App+user tokens from the sandbox, redeemed from a rotating refresh token.

    The refresh token comes from ``store`` (or ``refresh_token``); each rotated one
    is saved to ``store`` and passed to ``on_refresh_token``.
    """

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        refresh_token: str | None = None,
        *,
        store: RefreshTokenStore | None = None,
        on_refresh_token: Callable[[str], None] | None = None,
        timeout: tuple[float, float] = (5.0, 30.0),
        session: requests.Session | None = None,
    ) -> None:
        super().__init__(
            token_url, client_id, client_secret, timeout=timeout, session=session
        )
        self.chain = RefreshTokenChain(refresh_token, store, on_refresh_token)

    def _secrets(self) -> tuple[str | None, ...]:
        return (self._client_secret, *self.chain.secrets())

    def _fetch(self) -> tuple[str, float]:
        used = self.chain.current()
        try:
            body = self._post(
                {
                    "grant_type": "refresh_token",
                    "refresh_token": used,
                    "scope": "openid",
                }
            )
        except RefreshTokenExpired:
            # Another process may have rotated it since: try the stored one once.
            newer = self.chain.newer_than(used)
            if newer is None:
                raise
            used = newer
            body = self._post(
                {
                    "grant_type": "refresh_token",
                    "refresh_token": used,
                    "scope": "openid",
                }
            )
        self.chain.redeemed(used, body.get("refresh_token"))
        return str(body["access_token"]), lifetime(body.get("expires_in"))
