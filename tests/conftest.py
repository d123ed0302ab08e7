"""Project-wide fixtures: role users, the sandbox over real HTTP, a clean Redis.

Also the end-of-session check that no process a test started is left running
(`tests/leaks.py`, its hooks re-exported here).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings as django_settings

from tests.factories import UserFactory
from tests.leaks import (  # noqa: F401  (hooks)
    pytest_configure,
    pytest_sessionfinish,
    pytest_testnodedown,
)
from tests.partner_center.support import SandboxControl

SANDBOX_CUSTOMERS = 12
SANDBOX_SEED = 7


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Keep the tests marked slow of one module in one xdist group
    (`--dist loadgroup`): each starts several real processes (Celery workers, the
    chaos run's cluster), so those of a module run one after another, on one
    worker, while the other workers take the rest."""
    for item in items:
        if item.get_closest_marker("slow") and not item.get_closest_marker(
            "xdist_group"
        ):
            module = item.nodeid.split("::", 1)[0]
            item.add_marker(pytest.mark.xdist_group(f"slow:{module}"))


@pytest.fixture
def viewer(db: Any) -> Any:
    return UserFactory(username="viewer", role="viewer")


@pytest.fixture
def operator(db: Any) -> Any:
    return UserFactory(username="operator", role="operator")


@pytest.fixture
def admin_user(db: Any) -> Any:
    return UserFactory(username="admin", role="admin")


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[Any]:
    """Run one sandbox for the whole session on a free loopback port."""
    from sandbox.server import start_sandbox

    server = start_sandbox(
        host="127.0.0.1",
        port=0,
        customers=SANDBOX_CUSTOMERS,
        seed=SANDBOX_SEED,
        rate_limit_per_minute=100_000,
        provisioning_delay_seconds=0.2,
    )
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def sandbox(sandbox_server: Any, settings: Any) -> SandboxControl:
    """Return a freshly reset sandbox with PartnerHub's settings pointing at it."""
    control = SandboxControl(sandbox_server.url)
    control.reset(SANDBOX_CUSTOMERS, SANDBOX_SEED)
    settings.PARTNER_CENTER_MODE = "sandbox"
    settings.SANDBOX_URL = sandbox_server.url
    settings.PARTNER_CENTER_API_URL = f"{sandbox_server.url}/v1"
    settings.PARTNER_CENTER_TOKEN_URL = (
        f"{sandbox_server.url}/{settings.PARTNER_CENTER_TENANT_ID}/oauth2/token"
    )
    settings.PARTNER_CENTER_CLIENT_ID = "sandbox-app"
    settings.PARTNER_CENTER_CLIENT_SECRET = "sandbox-secret"
    settings.PARTNER_CENTER_RATE_LIMIT_PER_MINUTE = 100_000
    return control


def empty_test_redis(
    url: str, owner: str, *, release: bool = False, claim_seconds: int | None = None
) -> None:
    """Empty the checkout's own Redis database, keeping its claim on it (renewed
    for `claim_seconds`, by default the settings' TEST_REDIS_CLAIM_SECONDS) or
    giving it up, with `release`.

    Raise RuntimeError, emptying nothing, if another checkout has claimed it.
    """
    import redis

    client = redis.Redis.from_url(url)
    try:
        with client.pipeline(transaction=True) as pipe:
            while True:
                try:
                    pipe.watch(django_settings.TEST_REDIS_OWNER_KEY)
                    holder = pipe.get(django_settings.TEST_REDIS_OWNER_KEY)
                    if holder not in (None, owner.encode()):
                        raise RuntimeError(
                            f"Redis at {url} belongs to the tests of "
                            f"{holder.decode(errors='replace')}; not emptying it."
                        )
                    pipe.multi()
                    pipe.flushdb()
                    if not release:
                        pipe.set(
                            django_settings.TEST_REDIS_OWNER_KEY,
                            owner,
                            ex=claim_seconds
                            or django_settings.TEST_REDIS_CLAIM_SECONDS,
                        )
                    pipe.execute()
                    return
                except redis.WatchError:
                    continue
    finally:
        client.close()


@pytest.fixture(scope="session", autouse=True)
def _redis_claim() -> Iterator[None]:
    """Give back, when the session ends, the Redis database an xdist worker other
    than gw0 claimed for this run (gw0 and serial runs keep the checkout's)."""
    yield
    if str(django_settings.BASE_DIR) != django_settings.TEST_REDIS_OWNER:
        empty_test_redis(
            django_settings.REDIS_URL, django_settings.TEST_REDIS_OWNER, release=True
        )


@pytest.fixture(autouse=True)
def _clean_redis(settings: Any) -> None:
    """Give every test an empty Redis database: this checkout's own, never a
    shared one (see `partnerhub.settings.test`)."""
    empty_test_redis(settings.REDIS_URL, settings.TEST_REDIS_OWNER)


@pytest.fixture(autouse=True)
def _audit_checkpoint(settings: Any, tmp_path: Any) -> None:
    """Give every test its own audit checkpoint file: a verification in one test
    must not make the next test's fresh, shorter log look truncated."""
    settings.PARTNERHUB_AUDIT_CHECKPOINT_FILE = tmp_path / "audit-checkpoint.json"


@pytest.fixture(scope="session")
def chromium_path() -> str:
    return os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
