"""Settings for a Partner Center client, and the factories that build one.

Sandbox and live differ only in URLs and token providers: both talk HTTP.

``build_client`` builds a new client (its own session and token providers);
``shared_client`` returns one client per process and config, so connections and
access tokens are reused across jobs; attach per-job hooks with ``with_hooks``.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from partner_center.auth import (
    DEFAULT_APP_SCOPE,
    DEFAULT_AUTHORITY_HOST,
    USER_IMPERSONATION_SCOPE,
    MsalAppTokenProvider,
    MsalUserTokenProvider,
    RefreshTokenStore,
    SandboxTokenProvider,
    SandboxUserTokenProvider,
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
    "clear_shared_clients",
    "shared_client",
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

    App+user tokens are redeemed from a refresh token read from
    ``refresh_token_store`` (e.g. the app's encrypted database row) before each
    redemption, else from ``user_refresh_token``. Every rotated refresh token is
    saved to the store and passed to ``on_refresh_token``. Live mode without
    either has no app+user tokens; sandbox mode then uses its app token for
    app+user calls. The store and the callback must be hashable (plain objects
    and functions are) because ``shared_client`` caches by config.
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
    refresh_token_store: RefreshTokenStore | None = field(default=None, repr=False)
    on_refresh_token: Callable[[str], None] | None = field(default=None, repr=False)
    # Refuse every write before sending it (first contact with a live tenant).
    read_only: bool = False

    @property
    def has_user_credentials(self) -> bool:
        """Return True if app+user tokens can be redeemed from a refresh token."""
        return bool(self.user_refresh_token or self.refresh_token_store)

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
    config: PartnerCenterConfig, session: requests.Session
) -> tuple[TokenProvider, TokenProvider | None]:
    timeout = (config.connect_timeout, config.read_timeout)
    user: TokenProvider | None = None
    if config.mode == "sandbox":
        app: TokenProvider = SandboxTokenProvider(
            config.resolved_token_url,
            config.client_id,
            config.client_secret,
            timeout=timeout,
            session=session,
        )
        if not config.has_user_credentials:
            # The sandbox's app token also serves app+user calls.
            return app, app
        user = SandboxUserTokenProvider(
            config.resolved_token_url,
            config.client_id,
            config.client_secret,
            config.user_refresh_token,
            store=config.refresh_token_store,
            on_refresh_token=config.on_refresh_token,
            timeout=timeout,
            session=session,
        )
        return app, user
    app = MsalAppTokenProvider(
        config.client_id,
        config.client_secret,
        config.tenant_id,
        scope=config.app_scope,
        authority_host=config.authority_host,
        timeout=timeout,
        http_client=session,
    )
    if config.has_user_credentials:
        user = MsalUserTokenProvider(
            config.client_id,
            config.client_secret,
            config.tenant_id,
            config.user_refresh_token,
            store=config.refresh_token_store,
            on_refresh_token=config.on_refresh_token,
            scope=config.user_scope,
            authority_host=config.authority_host,
            timeout=timeout,
            http_client=session,
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
    session = requests.Session()
    # Threads of one worker share the session: keep a connection for each of them.
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=HTTP_POOL_SIZE)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    app_tokens, user_tokens = _token_providers(config, session)
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
        session=session,
        owns_session=True,
        read_only=config.read_only,
    )


_SHARED_LIMIT = 8
_shared: OrderedDict[
    tuple[int, PartnerCenterConfig, str | None], PartnerCenterClient
] = OrderedDict()
_shared_lock = threading.Lock()
# Connections kept open per host: enough for a worker's threads (or a sync's).
HTTP_POOL_SIZE = 32


def shared_client(
    config: PartnerCenterConfig, *, redis_url: str | None = None
) -> PartnerCenterClient:
    """Return this process's client for ``config`` (built on first use).

    The client has no hooks; give each job its own with
    ``shared_client(config).with_hooks(on_call=..., on_write=...)``. Its session,
    token providers (and so the cached access tokens) and rate limiter are
    shared by every caller in the process. A forked child builds its own. At
    most eight configs are kept; the oldest is closed when a ninth arrives.
    """
    key = (os.getpid(), config, redis_url)
    with _shared_lock:
        client = _shared.get(key)
        if client is not None:
            _shared.move_to_end(key)
            return client
        client = build_client(config, redis_url=redis_url)
        _shared[key] = client
        while len(_shared) > _SHARED_LIMIT:
            _, oldest = _shared.popitem(last=False)
            oldest.close()
        return client


def clear_shared_clients() -> None:
    """Close and forget every shared client (tests; after settings change)."""
    with _shared_lock:
        while _shared:
            _, client = _shared.popitem()
            client.close()
