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
from tests import processes

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
    web = processes.start(
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
        processes.end(web, grace=20)
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


def _demo_env(tmp_path: Path, settings: Any, **extra: str) -> dict[str, str]:
    return devrun.run_env(
        _clean_environ(
            DATABASE_URL=f"sqlite:///{tmp_path / 'demo.sqlite3'}",
            PARTNERHUB_VAR_DIR=str(tmp_path),
            REDIS_URL=settings.REDIS_URL,
            CELERY_BROKER_URL=settings.REDIS_URL,
            **extra,
        )
    )


def _old_demo(tmp_path: Path) -> list[Path]:
    files = [tmp_path / f"demo.sqlite3{end}" for end in ("", "-wal", "-shm")]
    for path in files:
        path.write_bytes(b"rows of an earlier run")
    return files


def test_a_database_without_the_sandboxs_saved_state_starts_over(
    tmp_path: Path, settings: Any, capsys: Any
) -> None:
    files = _old_demo(tmp_path)

    devrun.prepare_demo(_demo_env(tmp_path, settings), reset=False)

    assert not any(path.exists() for path in files)
    assert "demo database starts over" in capsys.readouterr().out


def test_a_restart_keeps_the_database_while_the_sandbox_keeps_its_state(
    tmp_path: Path, settings: Any
) -> None:
    files = _old_demo(tmp_path)
    env = _demo_env(tmp_path, settings)
    state = devrun.sandbox_state(env)
    state.write_text("{}")

    devrun.prepare_demo(env, reset=False)

    assert all(path.exists() for path in files) and state.exists()
    assert devrun.sandbox_command(env)[-2:] == ["--state-file", str(state)]
    devrun.prepare_demo(env, reset=True)
    assert not state.exists() and not any(path.exists() for path in files)


def test_make_run_against_live_partner_center_keeps_the_database(
    tmp_path: Path, settings: Any
) -> None:
    files = _old_demo(tmp_path)

    devrun.prepare_demo(
        _demo_env(tmp_path, settings, PARTNER_CENTER_MODE="live"), reset=False
    )

    assert all(path.exists() for path in files)


def test_reset_demo_deletes_the_demo_database_in_any_mode(
    tmp_path: Path, settings: Any
) -> None:
    files = _old_demo(tmp_path)

    devrun.prepare_demo(
        _demo_env(tmp_path, settings, PARTNER_CENTER_MODE="live"), reset=True
    )

    assert not any(path.exists() for path in files)


def test_a_database_server_is_never_deleted(
    tmp_path: Path, settings: Any, capsys: Any
) -> None:
    env = _demo_env(tmp_path, settings)
    env["DATABASE_URL"] = "postgres://partnerhub:pw@db.internal:5432/partnerhub"

    with pytest.raises(SystemExit, match="does not delete"):
        devrun.reset_demo(env)
    devrun.prepare_demo(env, reset=False)

    assert "left as it is" in capsys.readouterr().out


def test_make_reset_demo_starts_the_demo_over() -> None:
    dry_run = subprocess.run(
        ["make", "-n", "reset-demo"], cwd=ROOT, capture_output=True, text=True
    )

    assert dry_run.returncode == 0, dry_run.stderr
    assert "-m partnerhub.devrun --reset-demo" in dry_run.stdout
