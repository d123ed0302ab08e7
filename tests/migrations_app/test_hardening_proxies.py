"""Client addresses come from trusted proxies only; nothing listens beyond
loopback unless asked; /healthz answers over plain HTTP in production."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse

from migrations_app.models import AuditEvent
from partnerhub import devrun

ROOT = Path(__file__).resolve().parents[2]
PROXY = "10.1.2.3"
CLIENT_A = "203.0.113.7"
CLIENT_B = "198.51.100.8"


def _clean_env(**extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "PARTNER_CENTER_", "PARTNERHUB_", "SANDBOX_"))
    }
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


def _production_env(**extra: str) -> dict[str, str]:
    return _clean_env(
        DJANGO_SETTINGS_MODULE="partnerhub.settings.production",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        PARTNERHUB_AUDIT_KEY=secrets.token_hex(32),
        PARTNERHUB_SECRETS_KEY=Fernet.generate_key().decode(),
        DJANGO_ALLOWED_HOSTS="partnerhub.example.com",
        **extra,
    )


def _fail_sign_in(client: Client, forwarded_for: str, remote: str = PROXY) -> Any:
    return client.post(
        reverse("login"),
        {"username": "operator", "password": "wrong"},
        REMOTE_ADDR=remote,
        HTTP_X_FORWARDED_FOR=forwarded_for,
    )


def test_healthz_answers_over_plain_http_in_production() -> None:
    result = _run_python(
        "import django; django.setup(); from django.test import Client; "
        "c = Client(HTTP_HOST='partnerhub.example.com'); "
        "print(c.get('/healthz').status_code, c.get('/customers/').status_code)",
        _production_env(),
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["200", "301"]


def test_a_malformed_trusted_proxy_stops_start_up() -> None:
    result = _run_python(
        "import django; django.setup()",
        _clean_env(
            DJANGO_SETTINGS_MODULE="partnerhub.settings",
            PARTNERHUB_TRUSTED_PROXIES="10.0.0.0/8, load-balancer",
        ),
    )

    assert result.returncode != 0
    assert "PARTNERHUB_TRUSTED_PROXIES" in result.stderr
    assert "'load-balancer' is not an IP address or network" in result.stderr


@pytest.mark.django_db
def test_behind_a_trusted_proxy_each_client_has_its_own_address(
    operator: Any, settings: Any
) -> None:
    settings.PARTNERHUB_TRUSTED_PROXIES = ["10.0.0.0/8"]
    client = Client()

    for _ in range(django_settings.AXES_FAILURE_LIMIT):
        _fail_sign_in(client, f"6.6.6.6, {CLIENT_A}")
    other = _fail_sign_in(client, CLIENT_B)

    assert other.status_code == 200  # not locked out by client A's failures
    ips = set(AuditEvent.objects.values_list("ip_address", flat=True))
    assert ips == {CLIENT_A, CLIENT_B}


@pytest.mark.django_db
def test_forwarded_for_is_ignored_from_anyone_but_a_trusted_proxy(
    operator: Any, settings: Any
) -> None:
    settings.PARTNERHUB_TRUSTED_PROXIES = ["10.0.0.0/8"]

    _fail_sign_in(Client(), CLIENT_B, remote=CLIENT_A)

    assert list(AuditEvent.objects.values_list("ip_address", flat=True)) == [CLIENT_A]


@pytest.mark.django_db
def test_without_trusted_proxies_the_peer_is_the_client(
    operator: Any, settings: Any
) -> None:
    settings.PARTNERHUB_TRUSTED_PROXIES = []

    _fail_sign_in(Client(), CLIENT_B)

    assert list(AuditEvent.objects.values_list("ip_address", flat=True)) == [PROXY]


def test_the_client_is_the_right_most_address_a_trusted_proxy_did_not_add() -> None:
    from ipaddress import ip_network

    from partnerhub.proxies import forwarded_client

    proxies = (ip_network("10.0.0.0/8"), ip_network("2001:db8::/32"))

    assert forwarded_client(PROXY, "1.1.1.1, 203.0.113.7:5123, 10.0.0.9", proxies) == (
        "203.0.113.7"
    )
    assert forwarded_client(PROXY, "[2001:db9::5]:443", proxies) == "2001:db9::5"
    assert forwarded_client(PROXY, "10.0.0.8, 10.0.0.9", proxies) == "10.0.0.8"
    assert forwarded_client(PROXY, "203.0.113.7, garbage", proxies) == PROXY
    assert forwarded_client(PROXY, "", proxies) == PROXY
    assert forwarded_client(CLIENT_A, "1.1.1.1", proxies) == CLIENT_A


def _procfile_command(name: str, env: dict[str, str]) -> str:
    lines = (ROOT / "Procfile").read_text().splitlines()
    [command] = [line.split(":", 1)[1] for line in lines if line.startswith(name + ":")]
    # Procfile runners hand each command to a shell.
    shown = subprocess.run(
        ["sh", "-c", f"set -f; echo {command}"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return shown.stdout.strip()


def test_the_procfile_sandbox_listens_on_loopback_unless_asked() -> None:
    default = _procfile_command("sandbox", _clean_env())
    asked = _procfile_command("sandbox", _clean_env(SANDBOX_HOST="0.0.0.0"))

    assert "--host 127.0.0.1 " in default
    assert "0.0.0.0" not in default
    assert "--host 0.0.0.0 " in asked


def test_make_run_listens_on_loopback_unless_asked() -> None:
    env = devrun.run_env(_clean_env())
    asked = devrun.run_env(_clean_env(PARTNERHUB_RUN_HOST="0.0.0.0"))

    sandbox = devrun.sandbox_command(env)
    assert sandbox[sandbox.index("--host") + 1] == "127.0.0.1"
    assert "127.0.0.1:8000" in devrun.web_command(env)
    sandbox = devrun.sandbox_command(asked)
    assert sandbox[sandbox.index("--host") + 1] == "0.0.0.0"
    assert "0.0.0.0:8000" in devrun.web_command(asked)


def test_a_host_not_allowed_gets_a_400_page_not_a_500(db: Any, settings: Any) -> None:
    from django.test import Client

    settings.ALLOWED_HOSTS = ["partnerhub.example"]
    client = Client(raise_request_exception=False)
    response = client.get("/accounts/login/", HTTP_HOST="elsewhere.example")
    assert response.status_code == 400
