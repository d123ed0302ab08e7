"""Two checkouts on one host can run `make test` at once: each has its own Redis
database and keeps its screenshots under its own var/; `make test-fast` leaves out
the browser and worker-kill tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis

from tests.e2e.conftest import SHOTS, shots_dir

ROOT = Path(__file__).resolve().parents[2]
FOREIGN = "/elsewhere/another-checkout"


@pytest.mark.skipif(
    bool(os.environ.get("TEST_REDIS_URL")), reason="TEST_REDIS_URL chooses the db"
)
def test_the_tests_use_a_redis_database_this_checkout_has_claimed(
    settings: Any,
) -> None:
    db = int(urlsplit(settings.REDIS_URL).path.lstrip("/") or 0)

    assert db not in {0, 10, 14}
    assert settings.CELERY_BROKER_URL == settings.REDIS_URL
    assert settings.CACHES["default"]["LOCATION"] == settings.REDIS_URL
    client = redis.Redis.from_url(settings.REDIS_URL)
    assert (
        client.get(settings.TEST_REDIS_OWNER_KEY) == settings.TEST_REDIS_OWNER.encode()
    )
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if worker in ("", "gw0"):
        assert str(ROOT) == settings.TEST_REDIS_OWNER
    else:
        assert f"{ROOT} [{worker}]" == settings.TEST_REDIS_OWNER


def _settings_for_worker(worker: str) -> tuple[str, str]:
    """Return the Redis URL and owner the test settings choose for xdist `worker`."""
    env = {k: v for k, v in os.environ.items() if k != "TEST_REDIS_URL"}
    env.update(
        PYTEST_XDIST_WORKER=worker, DJANGO_SETTINGS_MODULE="partnerhub.settings.test"
    )
    code = (
        "from partnerhub.settings import test\n"
        "print(test.REDIS_URL)\nprint(test.TEST_REDIS_OWNER)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    url, owner = done.stdout.splitlines()[:2]
    return url, owner


@pytest.mark.skipif(
    bool(os.environ.get("TEST_REDIS_URL")), reason="TEST_REDIS_URL chooses the db"
)
def test_each_xdist_worker_claims_a_redis_database_of_its_own(settings: Any) -> None:
    from tests.conftest import empty_test_redis

    first_url, first_owner = _settings_for_worker("gw0")
    other_url, other_owner = _settings_for_worker("gw7")
    try:
        assert first_owner == str(ROOT)
        assert other_owner == f"{ROOT} [gw7]"
        assert other_url != first_url
        assert other_url != settings.REDIS_URL
        client = redis.Redis.from_url(other_url)
        assert client.get(settings.TEST_REDIS_OWNER_KEY) == other_owner.encode()
        assert 0 < client.ttl(settings.TEST_REDIS_OWNER_KEY) <= 2 * 3600
        if os.environ.get("PYTEST_XDIST_WORKER", "gw0") == "gw0":
            assert first_url == settings.REDIS_URL
    finally:
        empty_test_redis(other_url, other_owner, release=True)
    assert redis.Redis.from_url(other_url).dbsize() == 0


def test_emptying_redis_between_tests_keeps_the_claim(settings: Any) -> None:
    from tests.conftest import empty_test_redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    client.set("left-by-a-test", "1")

    empty_test_redis(settings.REDIS_URL, settings.TEST_REDIS_OWNER)

    assert client.get("left-by-a-test") is None
    assert client.get(settings.TEST_REDIS_OWNER_KEY) == (
        settings.TEST_REDIS_OWNER.encode()
    )


def test_a_database_another_checkout_claimed_is_never_emptied(settings: Any) -> None:
    from tests.conftest import empty_test_redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    client.set(settings.TEST_REDIS_OWNER_KEY, FOREIGN)
    client.set("their-data", "1")
    try:
        with pytest.raises(RuntimeError, match="another-checkout"):
            empty_test_redis(settings.REDIS_URL, settings.TEST_REDIS_OWNER)
        assert client.get("their-data") == b"1"
    finally:
        client.set(settings.TEST_REDIS_OWNER_KEY, settings.TEST_REDIS_OWNER)


def test_screenshots_are_kept_under_this_checkout() -> None:
    assert shots_dir({}) == ROOT / "var" / "test-artifacts" / "screenshots"
    assert shots_dir({"PARTNERHUB_SHOTS_DIR": "/elsewhere"}) == Path("/elsewhere")
    assert shots_dir(os.environ) == SHOTS


def test_make_test_fast_leaves_out_browser_and_worker_kill_tests() -> None:
    dry_run = subprocess.run(
        ["make", "-n", "test-fast"], cwd=ROOT, capture_output=True, text=True
    )

    assert dry_run.returncode == 0, dry_run.stderr
    [pytest_line] = [
        line for line in dry_run.stdout.splitlines() if "bin/pytest" in line
    ]
    assert "-m 'not e2e and not slow'" in pytest_line
    assert "ruff" in dry_run.stdout and "mypy" in dry_run.stdout
    readme = (ROOT / "README.md").read_text()
    assert "make test-fast" in readme
