"""Token providers: caching, invalidation, and errors that never leak secrets."""

from __future__ import annotations

from typing import Any

import pytest

from partner_center.auth import (
    GRAPH_APP_SCOPE,
    MemoryRefreshTokenStore,
    MsalAppTokenProvider,
    MsalUserTokenProvider,
    SandboxTokenProvider,
)
from partner_center.errors import (
    AuthError,
    MfaRequired,
    RefreshTokenExpired,
    TransientError,
)
from tests.partner_center.support import (
    Canned,
    FakePartnerCenter,
    HostRewritingSession,
    RotatingRefreshTokens,
    SeenRequest,
    script_entra_discovery,
)

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


def test_an_unreachable_token_endpoint_is_a_transient_error() -> None:
    provider = SandboxTokenProvider("http://127.0.0.1:1/t/oauth2/token", "a", SECRET)

    with pytest.raises(TransientError) as caught:
        provider.get_token()

    assert not isinstance(caught.value, AuthError)
    assert caught.value.ambiguous is False
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize(
    "answer",
    [
        Canned(503, raw=b"Service Unavailable"),
        Canned(500, {"error": "server_error", "error_description": "AADSTS90033"}),
        Canned(400, {"error": "temporarily_unavailable", "error_description": "x"}),
        Canned(429, {"error": "throttled"}, headers={"Retry-After": "5"}),
    ],
)
def test_an_entra_5xx_or_throttle_is_a_transient_error(
    fake: FakePartnerCenter, answer: Canned
) -> None:
    fake.script("POST", "/t/oauth2/token", answer)
    provider = SandboxTokenProvider(f"{fake.url}/t/oauth2/token", "app", SECRET)

    with pytest.raises(TransientError) as caught:
        provider.get_token()

    assert "try again later" in caught.value.message


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


# ------------------------------------------- real msal against a scripted Entra ID

TENANT = "partner-tenant"
TOKEN_PATH = f"/{TENANT}/oauth2/v2.0/token"


def msal_user_provider(
    fake: FakePartnerCenter,
    refresh_token: str | None = "rt-0",
    **options: Any,
) -> MsalUserTokenProvider:
    script_entra_discovery(fake, TENANT)
    return MsalUserTokenProvider(
        "client",
        SECRET,
        TENANT,
        refresh_token,
        authority_host="https://login.example.test",
        http_client=HostRewritingSession(fake.url),
        **options,
    )


def test_msal_reports_every_rotated_refresh_token_to_the_store_and_callback(
    fake: FakePartnerCenter,
) -> None:
    entra = RotatingRefreshTokens("rt-0")
    fake.script("POST", TOKEN_PATH, entra)
    store = MemoryRefreshTokenStore("rt-0")
    reported: list[str] = []
    provider = msal_user_provider(
        fake, None, store=store, on_refresh_token=reported.append
    )

    tokens = []
    for _ in range(3):
        tokens.append(provider.get_token())
        provider.invalidate()

    assert tokens == ["user-access-1", "user-access-2", "user-access-3"]
    assert entra.redeemed == ["rt-0", "rt-1", "rt-2"] and entra.refused == []
    assert reported == ["rt-1", "rt-2", "rt-3"]
    assert store.load() == "rt-3"


def test_msal_caches_the_access_token_until_invalidated(
    fake: FakePartnerCenter,
) -> None:
    entra = RotatingRefreshTokens("rt-0")
    fake.script("POST", TOKEN_PATH, entra)
    provider = msal_user_provider(fake)

    assert {provider.get_token() for _ in range(5)} == {"user-access-1"}
    assert len(fake.calls("POST", TOKEN_PATH)) == 1


def test_a_token_rotated_by_another_process_is_read_from_the_store(
    fake: FakePartnerCenter,
) -> None:
    entra = RotatingRefreshTokens("rt-0")
    fake.script("POST", TOKEN_PATH, entra)
    store = MemoryRefreshTokenStore("rt-0")
    worker_a = msal_user_provider(fake, "rt-0", store=store)
    worker_b = msal_user_provider(fake, "rt-0", store=store)

    for _ in range(4):
        for worker in (worker_a, worker_b):
            worker.get_token()
            worker.invalidate()

    assert entra.refused == []
    assert entra.redeemed == [f"rt-{n}" for n in range(8)]


def test_after_invalid_grant_a_newer_stored_token_is_tried_once(
    fake: FakePartnerCenter,
) -> None:
    entra = RotatingRefreshTokens("rt-0")
    fake.script("POST", TOKEN_PATH, entra)

    class RacingStore(MemoryRefreshTokenStore):
        """The first read returns the token another worker is just rotating."""

        stale: str | None = "rt-0"

        def load(self) -> str | None:
            stale, self.stale = self.stale, None
            return stale or super().load()

    store = RacingStore("rt-0")
    other_worker = msal_user_provider(fake, store=store)
    other_worker.get_token()  # spends rt-0, stores rt-1
    store.stale = "rt-0"
    provider = msal_user_provider(fake, store=store)

    assert provider.get_token() == "user-access-2"
    assert entra.refused == ["rt-0"]
    assert entra.redeemed == ["rt-0", "rt-1"]
    assert store.load() == "rt-2"


def test_a_failing_store_keeps_the_rotated_token_in_memory(
    fake: FakePartnerCenter, caplog: pytest.LogCaptureFixture
) -> None:
    entra = RotatingRefreshTokens("rt-0")
    fake.script("POST", TOKEN_PATH, entra)

    class BrokenStore(MemoryRefreshTokenStore):
        def save(self, token: str) -> None:
            raise OSError("database away")

    provider = msal_user_provider(fake, store=BrokenStore("rt-0"))

    provider.get_token()
    provider.invalidate()
    provider.get_token()

    assert entra.redeemed == ["rt-0", "rt-1"] and entra.refused == []
    assert "Could not store the rotated refresh token" in caplog.text
    assert "rt-1" not in caplog.text


def test_an_expired_refresh_token_asks_for_re_consent_without_showing_it(
    fake: FakePartnerCenter,
) -> None:
    fake.script("POST", TOKEN_PATH, RotatingRefreshTokens("some-other-token"))
    provider = msal_user_provider(fake, "0.AExpiredRefreshToken")

    with pytest.raises(RefreshTokenExpired) as caught:
        provider.get_token()

    text = str(caught.value)
    assert "AADSTS700082" in text and "consent" in text
    assert "0.AExpiredRefreshToken" not in text and SECRET not in text
    assert isinstance(caught.value, AuthError)


def test_an_mfa_demand_from_entra_raises_mfa_required(
    fake: FakePartnerCenter,
) -> None:
    fake.script(
        "POST",
        TOKEN_PATH,
        Canned(
            400,
            {
                "error": "invalid_grant",
                "error_description": "AADSTS50076: you must use multi-factor "
                "authentication to access this resource.",
            },
        ),
    )

    with pytest.raises(MfaRequired) as caught:
        msal_user_provider(fake).get_token()

    assert "multi-factor" in caught.value.message


@pytest.mark.parametrize(
    ("path", "answer"),
    [
        (TOKEN_PATH, Canned(503, raw=b"busy")),
        (f"/{TENANT}/v2.0/.well-known/openid-configuration", Canned(502, raw=b"")),
    ],
)
def test_msal_facing_an_entra_5xx_raises_transient_error(
    fake: FakePartnerCenter, path: str, answer: Canned
) -> None:
    provider = msal_user_provider(fake)
    fake.script("GET" if "well-known" in path else "POST", path, answer)

    with pytest.raises(TransientError) as caught:
        provider.get_token()

    assert not isinstance(caught.value, AuthError)
    assert caught.value.status in (502, 503)


def test_msal_facing_an_unreachable_entra_raises_transient_error() -> None:
    provider = MsalAppTokenProvider(
        "client",
        SECRET,
        TENANT,
        authority_host="https://login.example.test",
        http_client=HostRewritingSession("http://127.0.0.1:1"),
    )

    with pytest.raises(TransientError) as caught:
        provider.get_token()

    assert "unreachable" in caught.value.message
