"""The security baseline: deploy checks, lockout, session expiry, masked secrets."""

from __future__ import annotations

import logging
import os
import secrets
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.conf import settings as django_settings
from django.contrib.sessions.models import Session
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone
from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

from migrations_app.models import AuditEvent, Outcome
from migrations_app.services.audit import audit_record
from partnerhub.logging import redact

ROOT = Path(__file__).resolve().parents[2]
LIVE_SECRET = "Zq8~live-client-secret-Hk2.Xv9"
LIVE_REFRESH = "0.AAAA-refresh-token-9f8e7d6c5b4a"


def _production_env(**extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "PARTNER_CENTER_", "PARTNERHUB_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="partnerhub.settings.production",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        PARTNERHUB_AUDIT_KEY=secrets.token_hex(32),
        PARTNERHUB_SECRETS_KEY=Fernet.generate_key().decode(),
        DJANGO_ALLOWED_HOSTS="partnerhub.example.com",
    )
    env.update(extra)
    return env


def _run_python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_production_settings() -> None:
    result = _run_python(
        "import django; django.setup(); "
        "from django.core.management import call_command; "
        "call_command('check', deploy=True, fail_level='WARNING')",
        _production_env(),
    )

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key() -> None:
    env = _production_env()
    del env["DJANGO_SECRET_KEY"]

    result = _run_python("import django; django.setup()", env)

    assert result.returncode != 0
    assert "Set DJANGO_SECRET_KEY" in result.stderr


def test_production_never_runs_with_debug_and_uses_secure_cookies() -> None:
    result = _run_python(
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.DEBUG, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
        "s.SECURE_HSTS_SECONDS >= 31536000, s.SECURE_SSL_REDIRECT, "
        "s.SESSION_COOKIE_HTTPONLY, s.SESSION_COOKIE_AGE <= 12 * 3600)",
        _production_env(DJANGO_DEBUG="1"),
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "False",
        "True",
        "True",
        "True",
        "True",
        "True",
        "True",
    ]


def _login(client: Client, password: str, username: str = "operator") -> Any:
    return client.post(
        reverse("login"),
        {"username": username, "password": password},
        REMOTE_ADDR="203.0.113.7",
    )


def test_repeated_failed_sign_ins_lock_the_account(operator: Any) -> None:
    client = Client()
    limit = django_settings.AXES_FAILURE_LIMIT

    for _ in range(limit - 1):
        response = _login(client, "wrong")
        assert response.status_code == 200
        assert b"Please enter a correct username and password" in response.content
    locked = _login(client, "wrong")
    after = _login(client, "partnerhub")

    assert locked.status_code == 429
    assert b"Too many failed sign-ins" in locked.content
    assert after.status_code == 429
    assert "_auth_user_id" not in client.session
    actions = list(
        AuditEvent.objects.order_by("id").values_list("action", "actor", "outcome")
    )
    # One event per account and address per window; it counts the attempts.
    assert actions.count(("login_failed", "operator", Outcome.FAILURE)) == 1
    assert ("lockout", "operator", Outcome.DENIED) in actions
    assert not any(action == "login" for action, _, _ in actions)


def test_a_correct_password_still_signs_in_below_the_limit(operator: Any) -> None:
    client = Client()

    _login(client, "wrong")
    response = _login(client, "partnerhub")

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(operator.pk)


def test_a_session_expires_after_its_lifetime(operator: Any) -> None:
    client = Client()
    _login(client, "partnerhub")
    assert client.get(reverse("audit_list")).status_code == 200

    Session.objects.filter(session_key=client.session.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    response = client.get(reverse("audit_list"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert django_settings.SESSION_COOKIE_AGE <= 12 * 3600
    assert django_settings.SESSION_EXPIRE_AT_BROWSER_CLOSE


def test_the_sign_in_form_needs_a_csrf_token(operator: Any) -> None:
    client = Client(enforce_csrf_checks=True)

    response = client.post(
        reverse("login"), {"username": "operator", "password": "partnerhub"}
    )

    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


def test_error_reports_mask_partner_center_secrets(settings: Any) -> None:
    settings.PARTNER_CENTER_CLIENT_SECRET = LIVE_SECRET
    settings.PARTNER_CENTER_REFRESH_TOKEN = LIVE_REFRESH
    token = "eyJ0eXAiOiJKV1Qi" + secrets.token_urlsafe(24)
    request = RequestFactory().post(
        "/sync/",
        {"client_secret": LIVE_SECRET, "note": "hello"},
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )

    def failing(client_secret: str, headers: dict[str, str]) -> None:
        raise RuntimeError("Partner Center refused the call")

    try:
        failing(LIVE_SECRET, {"Authorization": f"Bearer {token}"})
    except RuntimeError:
        report = ExceptionReporter(request, *sys.exc_info(), is_email=True)
        html = report.get_traceback_html()
        text = report.get_traceback_text()
    safe = SafeExceptionReporterFilter().get_safe_settings()

    for body in (html, text):
        assert LIVE_SECRET not in body
        assert LIVE_REFRESH not in body
        assert token not in body
        assert "hello" in body  # the report is still useful
    assert safe["PARTNER_CENTER_CLIENT_SECRET"] != LIVE_SECRET
    assert safe["PARTNER_CENTER_REFRESH_TOKEN"] != LIVE_REFRESH
    assert safe["SECRET_KEY"] != django_settings.SECRET_KEY


def test_a_server_error_page_shows_nothing_but_an_apology(settings: Any) -> None:
    settings.DEBUG = False
    settings.PARTNER_CENTER_CLIENT_SECRET = LIVE_SECRET
    from django.views.defaults import server_error

    response = server_error(RequestFactory().get("/"))

    assert response.status_code == 500
    assert LIVE_SECRET.encode() not in response.content
    assert b"Traceback" not in response.content


def test_log_lines_never_carry_secrets_or_tokens(
    settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.PARTNER_CENTER_CLIENT_SECRET = LIVE_SECRET
    settings.PARTNER_CENTER_REFRESH_TOKEN = LIVE_REFRESH
    log = logging.getLogger("partner_center.client")

    with caplog.at_level(logging.DEBUG):
        log.info("token request client_id=app&client_secret=%s", LIVE_SECRET)
        log.debug("headers %s", {"Authorization": "Bearer abc.def.ghi"})
        log.warning("refresh failed for %s", LIVE_REFRESH)
        try:
            raise ValueError(f"bad secret {LIVE_SECRET}")
        except ValueError:
            log.exception("auth blew up")
    text = caplog.text + "".join(r.getMessage() for r in caplog.records)

    assert LIVE_SECRET not in text
    assert LIVE_REFRESH not in text
    assert "abc.def.ghi" not in text
    assert "[redacted]" in text


def test_redaction_keeps_ordinary_text_intact() -> None:
    line = "GET /v1/customers?size=500 → 200 in 35 ms (MS-RequestId 1234)"

    assert redact(line) == line


@pytest.mark.django_db
def test_audit_events_store_secrets_masked(settings: Any) -> None:
    settings.PARTNER_CENTER_CLIENT_SECRET = LIVE_SECRET

    event = audit_record(
        action="settings.changed",
        message=f"secret rotated to {LIVE_SECRET}",
        details={"headers": {"Authorization": "Bearer abc.def"}, "v": [LIVE_SECRET]},
    )

    stored = AuditEvent.objects.get(pk=event.pk)
    assert LIVE_SECRET not in stored.message
    assert LIVE_SECRET not in str(stored.details)
    assert "abc.def" not in str(stored.details)
    assert stored.hash == stored.compute_hash(stored.prev_hash)


@pytest.mark.parametrize("mode", ["sandbox", "live"])
def test_the_settings_page_shows_secrets_only_as_set_or_not_set(
    mode: str, settings: Any, admin_user: Any
) -> None:
    settings.PARTNER_CENTER_MODE = mode
    settings.PARTNER_CENTER_CLIENT_ID = "app-1234"
    settings.PARTNER_CENTER_CLIENT_SECRET = LIVE_SECRET
    settings.PARTNER_CENTER_REFRESH_TOKEN = ""
    client = Client()
    client.force_login(admin_user)

    html = client.get(reverse("settings_page")).content.decode()

    assert LIVE_SECRET not in html
    assert "app-1234" in html
    assert f"<code>{mode}</code>" in html
    assert '<span class="pill pill-ok">set</span>' in html
    assert '<span class="pill pill-muted">not set</span>' in html
    assert ("Entra ID authority" in html) is (mode == "live")
