"""Token providers: caching, invalidation, and errors that never leak secrets."""

from __future__ import annotations

from typing import Any

import pytest

from partner_center.auth import (
    GRAPH_APP_SCOPE,
    MsalAppTokenProvider,
    MsalUserTokenProvider,
    SandboxTokenProvider,
)
from partner_center.errors import AuthError
from tests.partner_center.support import Canned, FakePartnerCenter, SeenRequest

SECRET = "s3cr3t-value-never-shown"


def token_answer(counter: list[int]) -> Any:
    def answer(seen: SeenRequest) -> Canned:
        counter.append(1)
        return Canned(
            200,
            {
                "token_type": "Bearer",
                "expires_in": 3600,
                "access_token": f"access-{len(counter)}",
            },
        )

    return answer


def test_the_sandbox_provider_posts_a_client_credentials_form(
    fake: FakePartnerCenter,
) -> None:
    fake.script("POST", "/tenant-1/oauth2/token", token_answer([]))
    provider = SandboxTokenProvider(
        f"{fake.url}/tenant-1/oauth2/token", "sandbox-app", SECRET
    )

    assert provider.get_token() == "access-1"
    assert fake.requests[0].body == {
        "grant_type": "client_credentials",
        "client_id": "sandbox-app",
        "client_secret": SECRET,
        "resource": "https://api.partnercenter.microsoft.com",
    }


def test_the_sandbox_provider_sends_a_scope_to_a_v2_endpoint(
    fake: FakePartnerCenter,
) -> None:
    fake.script("POST", "/t/oauth2/v2.0/token", token_answer([]))
    provider = SandboxTokenProvider(f"{fake.url}/t/oauth2/v2.0/token", "app", SECRET)

    provider.get_token()

    assert fake.requests[0].body["scope"] == (
        "https://api.partnercenter.microsoft.com/.default"
    )


def test_a_token_is_cached_until_invalidated(fake: FakePartnerCenter) -> None:
    issued: list[int] = []
    fake.script("POST", "/t/oauth2/token", token_answer(issued))
    provider = SandboxTokenProvider(f"{fake.url}/t/oauth2/token", "app", SECRET)

    first = provider.get_token()
    second = provider.get_token()
    provider.invalidate()
    third = provider.get_token()

    assert (first, second, third) == ("access-1", "access-1", "access-2")
    assert len(issued) == 2


def test_a_token_close_to_expiry_is_renewed(fake: FakePartnerCenter) -> None:
    fake.script(
        "POST",
        "/t/oauth2/token",
        Canned(200, {"access_token": "short-1", "expires_in": 0.2}),
        Canned(200, {"access_token": "short-2", "expires_in": 3600}),
    )
    provider = SandboxTokenProvider(f"{fake.url}/t/oauth2/token", "app", SECRET)
    assert provider.get_token() == "short-1"

    import time

    time.sleep(0.15)

    assert provider.get_token() == "short-2"


def test_a_wrong_secret_raises_auth_error_without_the_secret(
    fake: FakePartnerCenter,
) -> None:
    fake.script(
        "POST",
        "/t/oauth2/token",
        Canned(
            401,
            {
                "error": "invalid_client",
                "error_description": f"bad secret {SECRET}",
            },
        ),
    )
    provider = SandboxTokenProvider(f"{fake.url}/t/oauth2/token", "app", SECRET)

    with pytest.raises(AuthError) as caught:
        provider.get_token()

    assert "invalid_client" in str(caught.value)
    assert SECRET not in str(caught.value)
    assert SECRET not in repr(provider)
    assert caught.value.transient is False


def test_an_unreachable_token_endpoint_is_a_transient_auth_error() -> None:
    provider = SandboxTokenProvider("http://127.0.0.1:1/t/oauth2/token", "a", SECRET)

    with pytest.raises(AuthError) as caught:
        provider.get_token()

    assert caught.value.transient is True
    assert SECRET not in str(caught.value)


class FakeMsalApp:
    """Stands in for msal.ConfidentialClientApplication (not our code)."""

    def __init__(self, results: list[dict[str, Any]]) -> None:
        self.results = results
        self.calls: list[tuple[str, Any]] = []

    def acquire_token_for_client(self, scopes: list[str]) -> dict[str, Any]:
        self.calls.append(("client", scopes))
        return self.results.pop(0)

    def acquire_token_by_refresh_token(
        self, refresh_token: str, scopes: list[str]
    ) -> dict[str, Any]:
        self.calls.append(("refresh", (refresh_token, scopes)))
        return self.results.pop(0)


def test_the_msal_app_provider_requests_the_configured_scope_and_caches() -> None:
    app = FakeMsalApp([{"access_token": "a1", "expires_in": 3600}])
    provider = MsalAppTokenProvider(
        "client", SECRET, "tenant", scope=GRAPH_APP_SCOPE, app_factory=lambda: app
    )

    assert provider.get_token() == "a1"
    assert provider.get_token() == "a1"
    assert app.calls == [("client", ["https://graph.windows.net/.default"])]
    assert provider.authority == "https://login.microsoftonline.com/tenant"


def test_an_msal_error_raises_auth_error_without_secrets() -> None:
    app = FakeMsalApp(
        [{"error": "invalid_client", "error_description": f"AADSTS7000215 {SECRET}"}]
    )
    provider = MsalAppTokenProvider("client", SECRET, "tenant", app_factory=lambda: app)

    with pytest.raises(AuthError) as caught:
        provider.get_token()

    assert "AADSTS7000215" in str(caught.value)
    assert SECRET not in str(caught.value)


def test_the_msal_user_provider_redeems_and_keeps_a_rotated_refresh_token() -> None:
    app = FakeMsalApp(
        [
            {"access_token": "u1", "expires_in": 3600, "refresh_token": "rt-2"},
            {"access_token": "u2", "expires_in": 3600},
        ]
    )
    stored: list[str] = []
    provider = MsalUserTokenProvider(
        "client",
        SECRET,
        "tenant",
        "rt-1",
        on_refresh_token=stored.append,
        app_factory=lambda: app,
    )

    assert provider.get_token() == "u1"
    provider.invalidate()
    assert provider.get_token() == "u2"

    scope = "https://api.partnercenter.microsoft.com/user_impersonation"
    assert app.calls == [
        ("refresh", ("rt-1", [scope])),
        ("refresh", ("rt-2", [scope])),
    ]
    assert stored == ["rt-2"]


def test_a_failed_refresh_never_shows_the_refresh_token() -> None:
    refresh_token = "0.ARefreshTokenThatMustStayPrivate"
    app = FakeMsalApp(
        [{"error": "invalid_grant", "error_description": f"expired {refresh_token}"}]
    )
    provider = MsalUserTokenProvider(
        "client", SECRET, "tenant", refresh_token, app_factory=lambda: app
    )

    with pytest.raises(AuthError) as caught:
        provider.get_token()

    assert "invalid_grant" in str(caught.value)
    assert refresh_token not in str(caught.value)
