"""`make run` and the Procfile: loopback unless asked, the project's own error
pages, and a demo whose database and sandbox stay in step."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from django.test import RequestFactory
from django.views.defaults import server_error

from partnerhub import devrun

ROOT = Path(__file__).resolve().parents[2]


def _clean_environ(**extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "PARTNER_CENTER_", "PARTNERHUB_", "SANDBOX_"))
    }
    env.update(extra)
    return env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def make_run_web(tmp_path: Path) -> Iterator[str]:
    """Start the web server exactly as `make run` does, on a free port."""
    env = devrun.run_env(
        _clean_environ(
            DATABASE_URL=f"sqlite:///{tmp_path / 'web.sqlite3'}",
            PARTNERHUB_VAR_DIR=str(tmp_path),
        )
    )
    port = _free_port()
    log = (tmp_path / "web.log").open("wb")
    web = subprocess.Popen(
        devrun.web_command(env, port=port),
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(url + "/healthz", timeout=1)
                break
            except requests.ConnectionError:
                assert web.poll() is None, (tmp_path / "web.log").read_text()
                assert time.monotonic() < deadline, "runserver did not start"
                time.sleep(0.2)
        yield url
    finally:
        web.terminate()
        web.wait(timeout=20)
        log.close()


def test_make_run_shows_the_projects_404_page_and_serves_static_files(
    make_run_web: str,
) -> None:
    missing = requests.get(make_run_web + "/no-such-page/", timeout=10)
    css = requests.get(make_run_web + "/static/css/partnerhub.css", timeout=10)

    assert missing.status_code == 404
    assert "There is nothing at this address" in missing.text
    assert "URLconf" not in missing.text  # Django's technical 404 lists every URL
    assert css.status_code == 200
    assert css.headers["Content-Type"].startswith("text/css")


def test_the_server_error_page_never_claims_nothing_was_done(settings: Any) -> None:
    settings.DEBUG = False

    response = server_error(RequestFactory().get("/migrations/1/cancel/"))

    page = response.content.decode()
    assert response.status_code == 500
    assert "half-done" not in page and "Nothing was" not in page
    assert "part of it may already have been made" in page
    assert "css/partnerhub.css" in page
