"""Settings for a Partner Center client, and the factory that builds one.

Sandbox and live differ only in URLs and token providers: both talk HTTP.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from partner_center.auth import (
    DEFAULT_APP_SCOPE,
    DEFAULT_AUTHORITY_HOST,
    USER_IMPERSONATION_SCOPE,
    MsalAppTokenProvider,
    MsalUserTokenProvider,
    SandboxTokenProvider,
    TokenProvider,
)
from partner_center.client import CallRecord, PartnerCenterClient, WriteIntent
from partner_center.ratelimit import (
    DEFAULT_BURST,
    DEFAULT_RATE_PER_MINUTE,
    NullRateLimiter,
    RateLimiter,
    RedisRateLimiter,
)

__all__ = [
    "LIVE_API_BASE_URL",
    "MODES",
    "SANDBOX_URL",
    "PartnerCenterConfig",
    "build_client",
]

MODES = ("sandbox", "live")
LIVE_API_BASE_URL = "https://api.partnercenter.microsoft.com/v1"
SANDBOX_URL = "http://127.0.0.1:8001"


@dataclass(frozen=True)
class PartnerCenterConfig:
    """Everything needed to build a client. Secrets are left out of ``repr``.

    ``api_base_url`` is the API root including the version, e.g.
    ``https://api.partnercenter.microsoft.com/v1`` or ``http://127.0.0.1:8001/v1``.
    In sandbox mode ``token_url`` defaults to ``{sandbox root}/{tenant}/oauth2/token``.
    In live mode app+user tokens are available only when ``user_refresh_token`` is
    set.
    """

    mode: str
    api_base_url: str
    tenant_id: str
    client_id: str
    client_secret: str = field(repr=False)
    user_refresh_token: str | None = field(default=None, repr=False)
    token_url: str | None = None
    app_scope: str = DEFAULT_APP_SCOPE
    user_scope: str = USER_IMPERSONATION_SCOPE
    authority_host: str = DEFAULT_AUTHORITY_HOST
    rate_limit_per_minute: int = DEFAULT_RATE_PER_MINUTE
    rate_limit_burst: int = DEFAULT_BURST
    rate_limit_key: str | None = None
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    locale: str = "en-US"
    country: str = "US"
    application_name: str = "PartnerHub"
    max_local_wait: float = 5.0

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {self.mode!r}")
        for name in ("api_base_url", "tenant_id", "client_id", "client_secret"):
            if not getattr(self, name):
                raise ValueError(f"{name} must not be empty")
        if self.rate_limit_per_minute <= 0 or self.rate_limit_burst < 1:
            raise ValueError("rate limit and burst must be positive")

    @property
    def resolved_token_url(self) -> str:
        """Return the sandbox token URL (explicit, or derived from the API root)."""
        if self.token_url:
            return self.token_url
        root = self.api_base_url.rstrip("/")
        if root.endswith("/v1"):
            root = root[: -len("/v1")]
        return f"{root}/{self.tenant_id}/oauth2/token"

    @property
    def resolved_rate_limit_key(self) -> str:
        """Return the Redis key of the bucket (one per partner tenant by default)."""
        return self.rate_limit_key or f"partner_center:ratelimit:{self.tenant_id}"

    @classmethod
    def sandbox(
        cls,
        url: str = SANDBOX_URL,
        *,
        tenant_id: str = "sandbox-partner",
        client_id: str = "sandbox-app",
        client_secret: str = "sandbox-secret",  # noqa: S107 (public sandbox value)
        **overrides: Any,
    ) -> PartnerCenterConfig:
        """Return a config for the sandbox at ``url`` (its root, without ``/v1``)."""
        return cls(
            mode="sandbox",
            api_base_url=f"{url.rstrip('/')}/v1",
            tenant_id=tenant_id,
            client_id=client_id,
            client_secret=client_secret,
            **overrides,
        )


def _token_providers(
    config: PartnerCenterConfig,
) -> tuple[TokenProvider, TokenProvider | None]:
    timeout = (config.connect_timeout, config.read_timeout)
    if config.mode == "sandbox":
        # The sandbox issues one kind of token; it serves app and app+user calls.
        provider = SandboxTokenProvider(
            config.resolved_token_url,
            config.client_id,
            config.client_secret,
            timeout=timeout,
        )
        return provider, provider
    app = MsalAppTokenProvider(
        config.client_id,
        config.client_secret,
        config.tenant_id,
        scope=config.app_scope,
        authority_host=config.authority_host,
    )
    user = None
    if config.user_refresh_token:
        user = MsalUserTokenProvider(
            config.client_id,
            config.client_secret,
            config.tenant_id,
            config.user_refresh_token,
            scope=config.user_scope,
            authority_host=config.authority_host,
        )
    return app, user


def build_client(
    config: PartnerCenterConfig,
    on_call: Callable[[CallRecord], None] | None = None,
    redis_url: str | None = None,
    *,
    on_write: Callable[[WriteIntent], None] | None = None,
) -> PartnerCenterClient:
    """Return a client for ``config``; with ``redis_url`` calls share a Redis bucket.

    Without ``redis_url`` the client does not limit its own rate. ``on_write`` is
    called before each write is sent, ``on_call`` after every HTTP attempt.
    """
    app_tokens, user_tokens = _token_providers(config)
    limiter: RateLimiter = NullRateLimiter()
    if redis_url:
        limiter = RedisRateLimiter(
            redis_url,
            config.resolved_rate_limit_key,
            config.rate_limit_per_minute,
            config.rate_limit_burst,
        )
    return PartnerCenterClient(
        config.api_base_url,
        app_tokens,
        user_tokens=user_tokens,
        rate_limiter=limiter,
        timeout=(config.connect_timeout, config.read_timeout),
        locale=config.locale,
        country=config.country,
        application_name=config.application_name,
        on_call=on_call,
        max_local_wait=config.max_local_wait,
        on_write=on_write,
    )
