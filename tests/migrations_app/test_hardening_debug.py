"""DEBUG is off unless asked for, the image runs the production settings, and a
DEBUG error page shows none of the configured secrets."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from django.test import RequestFactory
from django.views.debug import technical_500_response

ROOT = Path(__file__).resolve().parents[2]

DB_PASSWORD = "Db0pass7c41e9"
REDIS_PASSWORD = "Rd5pass93b2aa"
BROKER_PASSWORD = "Bk8pass1f07d3"
SECRET_KEY = "Sk2-" + "a1b2c3d4e5" * 5
CLIENT_SECRET = "Cs9-live-client-secret-55e1"
REFRESH_TOKEN = "0.Rt4-refresh-token-8d2c71"


def _clean_env(**extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "PARTNER_CENTER_", "PARTNERHUB_"))
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


def test_debug_is_off_unless_asked_for() -> None:
    code = "import django; django.setup(); from django.conf import settings as s; print(s.DEBUG)"

    default = _run_python(
        code, _clean_env(DJANGO_SETTINGS_MODULE="partnerhub.settings")
    )
    asked = _run_python(
        code,
        _clean_env(DJANGO_SETTINGS_MODULE="partnerhub.settings", DJANGO_DEBUG="1"),
    )

    assert default.returncode == 0, default.stderr
    assert default.stdout.strip() == "False"
    assert asked.stdout.strip() == "True"


def test_the_image_and_compose_run_the_production_settings() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    compose = (ROOT / "docker-compose.yml").read_text()

    env_lines = [line for line in dockerfile.splitlines() if line.startswith("ENV ")]
    assert any(
        "DJANGO_SETTINGS_MODULE=partnerhub.settings.production" in line
        for line in env_lines
    ), env_lines
    assert "DJANGO_DEBUG" not in dockerfile
    assert re.search(
        r"x-app: &app\n(?:  .*\n)*?    DJANGO_SETTINGS_MODULE: "
        r"partnerhub\.settings\.production",
        compose,
    )
    for service in ("migrate", "web", "worker", "beat"):
        assert re.search(rf"\n  {service}:\n    <<: \*app\n", compose), service
    assert "DJANGO_DEBUG" not in compose


def test_a_debug_error_page_shows_no_configured_secret(settings: Any) -> None:
    settings.DEBUG = True
    settings.SECRET_KEY = SECRET_KEY
    settings.PARTNER_CENTER_CLIENT_SECRET = CLIENT_SECRET
    settings.PARTNER_CENTER_REFRESH_TOKEN = REFRESH_TOKEN
    settings.REDIS_URL = f"redis://:{REDIS_PASSWORD}@redis.internal:6379/0"
    settings.CELERY_BROKER_URL = f"redis://worker:{BROKER_PASSWORD}@redis.internal/1"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": settings.REDIS_URL,
        }
    }
    # `runserver` hands the whole process environment to Django as request META.
    request = RequestFactory().get(
        "/customers/",
        DATABASE_URL=f"postgres://partnerhub:{DB_PASSWORD}@db.internal:5432/hub",
        REDIS_URL=settings.REDIS_URL,
        CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
        DJANGO_SECRET_KEY=SECRET_KEY,
        PARTNER_CENTER_CLIENT_SECRET=CLIENT_SECRET,
        PARTNER_CENTER_REFRESH_TOKEN=REFRESH_TOKEN,
        PARTNER_CENTER_CLIENT_ID="a3c8e0f2-client-id",
    )

    try:
        raise RuntimeError("boom")
    except RuntimeError:
        response = technical_500_response(request, *sys.exc_info())

    page = response.content.decode()
    assert "RuntimeError" in page and "db.internal" in page  # a real DEBUG page
    for secret in (
        DB_PASSWORD,
        REDIS_PASSWORD,
        BROKER_PASSWORD,
        SECRET_KEY,
        CLIENT_SECRET,
        REFRESH_TOKEN,
    ):
        assert secret not in page, secret
