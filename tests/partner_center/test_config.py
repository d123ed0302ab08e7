"""Building a client from settings: sandbox and live choose different providers."""

from __future__ import annotations

import pytest

from partner_center.auth import (
    MemoryRefreshTokenStore,
    MsalAppTokenProvider,
    MsalUserTokenProvider,
    SandboxTokenProvider,
    SandboxUserTokenProvider,
)
from partner_center.config import (
    PartnerCenterConfig,
    build_client,
    clear_shared_clients,
    shared_client,
)
from partner_center.ratelimit import NullRateLimiter, RedisRateLimiter
from tests.partner_center.support import REDIS_URL


def test_a_sandbox_config_derives_the_token_url_from_the_api_root() -> None:
    config = PartnerCenterConfig.sandbox("http://127.0.0.1:8001")

    assert config.api_base_url == "http://127.0.0.1:8001/v1"
    assert config.resolved_token_url == (
        "http://127.0.0.1:8001/sandbox-partner/oauth2/token"
    )


def test_sandbox_mode_uses_the_sandbox_provider_for_app_and_user_tokens() -> None:
    client = build_client(PartnerCenterConfig.sandbox("http://127.0.0.1:8001"))

    assert isinstance(client.app_tokens, SandboxTokenProvider)
    assert client.user_tokens is client.app_tokens
    assert isinstance(client.rate_limiter, NullRateLimiter)


def test_live_mode_uses_msal_providers_against_the_tenant_authority() -> None:
    config = PartnerCenterConfig(
        mode="live",
        api_base_url="https://api.partnercenter.microsoft.com/v1",
        tenant_id="contoso-partner",
        client_id="app-id",
        client_secret="secret-value",
        user_refresh_token="refresh-value",
    )

    client = build_client(config, redis_url=REDIS_URL)

    assert isinstance(client.app_tokens, MsalAppTokenProvider)
    assert isinstance(client.user_tokens, MsalUserTokenProvider)
    assert client.app_tokens.authority == (
        "https://login.microsoftonline.com/contoso-partner"
    )
    assert isinstance(client.rate_limiter, RedisRateLimiter)
    assert client.rate_limiter.key == "partner_center:ratelimit:contoso-partner"
    assert client.rate_limiter.rate_per_minute == 500


def test_live_mode_without_a_refresh_token_has_no_user_tokens() -> None:
    config = PartnerCenterConfig(
        mode="live",
        api_base_url="https://api.partnercenter.microsoft.com/v1",
        tenant_id="t",
        client_id="c",
        client_secret="s",
    )

    assert build_client(config).user_tokens is None


def test_the_config_repr_hides_secrets() -> None:
    config = PartnerCenterConfig.sandbox(
        client_secret="very-secret", user_refresh_token="rt-secret"
    )

    assert "very-secret" not in repr(config)
    assert "rt-secret" not in repr(config)


def test_an_unknown_mode_fails_loudly() -> None:
    with pytest.raises(ValueError, match="mode"):
        PartnerCenterConfig(
            mode="staging",
            api_base_url="x",
            tenant_id="t",
            client_id="c",
            client_secret="s",
        )


def test_sandbox_mode_with_a_refresh_token_redeems_it_for_app_user_calls() -> None:
    store = MemoryRefreshTokenStore("rt-start")
    config = PartnerCenterConfig.sandbox(refresh_token_store=store)

    client = build_client(config)

    assert isinstance(client.app_tokens, SandboxTokenProvider)
    assert isinstance(client.user_tokens, SandboxUserTokenProvider)
    assert client.user_tokens is not client.app_tokens


def test_live_mode_takes_the_refresh_token_from_a_store_alone() -> None:
    config = PartnerCenterConfig(
        mode="live",
        api_base_url="https://api.partnercenter.microsoft.com/v1",
        tenant_id="t",
        client_id="c",
        client_secret="s",
        refresh_token_store=MemoryRefreshTokenStore("rt-secret-value"),
    )

    client = build_client(config)

    assert isinstance(client.user_tokens, MsalUserTokenProvider)
    assert "rt-secret-value" not in repr(config)


def test_one_client_per_process_and_config_is_shared() -> None:
    config = PartnerCenterConfig.sandbox("http://127.0.0.1:8001")
    other = PartnerCenterConfig.sandbox("http://127.0.0.1:8002")
    try:
        first = shared_client(config)
        again = shared_client(PartnerCenterConfig.sandbox("http://127.0.0.1:8001"))
        elsewhere = shared_client(other)
        view = first.with_hooks(on_call=lambda record: None)
    finally:
        clear_shared_clients()

    assert again is first and elsewhere is not first
    assert view is not first
    assert (view.session, view.app_tokens, view.user_tokens) == (
        first.session,
        first.app_tokens,
        first.user_tokens,
    )
    assert first.on_call is None and view.on_call is not None
    assert shared_client(config) is not first
    clear_shared_clients()
