"""Access-token providers for Partner Center.

- ``SandboxTokenProvider`` / ``SandboxUserTokenProvider``: the sandbox's token
  endpoint (client credentials / rotating refresh token).
- ``MsalAppTokenProvider`` / ``MsalUserTokenProvider``: Entra ID through msal.
- ``StaticTokenProvider``: a fixed token, for tests and tools.

App+user providers read the refresh token from a ``RefreshTokenStore`` and report
every rotated one (see ``base.py``); failures are classified in
``base.token_failure``.
"""

from partner_center.auth.base import (
    DEFAULT_APP_SCOPE,
    DEFAULT_AUTHORITY_HOST,
    GRAPH_APP_SCOPE,
    PARTNER_CENTER_RESOURCE,
    USER_IMPERSONATION_SCOPE,
    MemoryRefreshTokenStore,
    RefreshTokenChain,
    RefreshTokenStore,
    StaticTokenProvider,
    TokenProvider,
    token_claims,
    token_failure,
)
from partner_center.auth.entra import MsalAppTokenProvider, MsalUserTokenProvider
from partner_center.auth.sandbox import SandboxTokenProvider, SandboxUserTokenProvider

__all__ = [
    "DEFAULT_APP_SCOPE",
    "DEFAULT_AUTHORITY_HOST",
    "GRAPH_APP_SCOPE",
    "PARTNER_CENTER_RESOURCE",
    "USER_IMPERSONATION_SCOPE",
    "MemoryRefreshTokenStore",
    "MsalAppTokenProvider",
    "MsalUserTokenProvider",
    "RefreshTokenChain",
    "RefreshTokenStore",
    "SandboxTokenProvider",
    "SandboxUserTokenProvider",
    "StaticTokenProvider",
    "TokenProvider",
    "token_claims",
    "token_failure",
]
