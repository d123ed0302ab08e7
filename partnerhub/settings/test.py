"""Settings for the test suite: fast hashing, a Redis database of this checkout's own."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import redis
from django.core.exceptions import ImproperlyConfigured

from partnerhub.settings import *  # noqa: F403
from partnerhub.settings import BASE_DIR, DATABASES

# The key that names the checkout whose tests own a Redis database, and how long a
# claim lasts without a test run renewing it. Under pytest-xdist every worker needs a
# database of its own: the first (gw0) keeps the checkout's claim, the others claim
# one named after the checkout and the worker, for a shorter time, and give it back
# when their session ends (tests/conftest.py).
TEST_REDIS_OWNER_KEY = "partnerhub-test:checkout"
TEST_XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
_CHECKOUT_CLAIM = TEST_XDIST_WORKER in ("", "gw0")
TEST_REDIS_OWNER = (
    str(BASE_DIR) if _CHECKOUT_CLAIM else f"{BASE_DIR} [{TEST_XDIST_WORKER}]"
)
TEST_REDIS_CLAIM_SECONDS = 7 * 24 * 3600 if _CHECKOUT_CLAIM else 2 * 3600
# Not 0 (`make run`), 10 (the worker-kill tests' workers before they claimed their
# own), 14 (what test runs used to empty) or 15 (the Partner Center client tests'
# rate-limit buckets).
TEST_REDIS_CANDIDATES = [n for n in range(1, 14) if n != 10]


def _checkout_of(holder: bytes | str) -> Path:
    """Return the checkout folder a claim names (its owner less " [gw1]" etc.)."""
    text = holder.decode(errors="replace") if isinstance(holder, bytes) else holder
    return Path(text.split(" ")[0])


def _take_if_abandoned(client: redis.Redis, owner: str, claim_seconds: int) -> None:
    """Claim the database for `owner` if its claim names a checkout that no longer
    exists on this host (its tests cannot be running), emptying it."""
    with client.pipeline(transaction=True) as pipe:
        try:
            pipe.watch(TEST_REDIS_OWNER_KEY)
            holder = pipe.get(TEST_REDIS_OWNER_KEY)
            if not holder or _checkout_of(holder).exists():
                return
            pipe.multi()
            pipe.flushdb()
            pipe.set(TEST_REDIS_OWNER_KEY, owner, ex=claim_seconds)
            pipe.execute()
        except redis.WatchError:
            return


def claim_test_redis(owner: str, claim_seconds: int) -> str:
    """Return the URL of a Redis database on 127.0.0.1:6379 that `owner` may empty.

    The one already naming `owner` under `TEST_REDIS_OWNER_KEY`, else the first
    empty one in an order derived from `owner` (or one whose claim names a checkout
    folder that is gone), which is then claimed for `claim_seconds`. Raise
    ImproperlyConfigured if none is free.
    """
    start = int(hashlib.sha256(owner.encode()).hexdigest(), 16)
    count = len(TEST_REDIS_CANDIDATES)
    order = [TEST_REDIS_CANDIDATES[(start + i) % count] for i in range(count)]
    clients = {
        n: redis.Redis(host="127.0.0.1", port=6379, db=n, socket_connect_timeout=2)
        for n in order
    }
    try:
        for claiming in (False, True):
            for number, client in clients.items():
                if claiming and client.dbsize() == 0:
                    client.set(TEST_REDIS_OWNER_KEY, owner, nx=True, ex=claim_seconds)
                elif claiming:
                    _take_if_abandoned(client, owner, claim_seconds)
                if client.get(TEST_REDIS_OWNER_KEY) == owner.encode():
                    client.expire(TEST_REDIS_OWNER_KEY, claim_seconds)
                    return f"redis://127.0.0.1:6379/{number}"
    except redis.ConnectionError:
        # No Redis here: the tests that need it fail and say so.
        return f"redis://127.0.0.1:6379/{order[0]}"
    finally:
        for client in clients.values():
            client.close()
    raise ImproperlyConfigured(
        "Every Redis database the tests may use on 127.0.0.1:6379 "
        f"({', '.join(map(str, order))}) holds other data, so they have none of "
        "their own to empty before each test. Set TEST_REDIS_URL to one they may "
        "empty."
    )


def _test_redis_url() -> str:
    """Return the Redis URL this checkout's (or xdist worker's) tests use.

    `TEST_REDIS_URL` wins: one URL, or under xdist a comma-separated list with one
    per worker (gw0 the first). Otherwise the database `claim_test_redis` finds for
    `TEST_REDIS_OWNER`. Raise ImproperlyConfigured if the list is too short.
    """
    explicit = [u.strip() for u in os.environ.get("TEST_REDIS_URL", "").split(",")]
    if explicit[0]:
        index = int(TEST_XDIST_WORKER.removeprefix("gw") or 0)
        if index >= len(explicit):
            raise ImproperlyConfigured(
                f"TEST_REDIS_URL names {len(explicit)} Redis database(s) but xdist "
                f"worker {TEST_XDIST_WORKER} needs one of its own: list one URL per "
                "worker, separated by commas."
            )
        return explicit[index]
    return claim_test_redis(TEST_REDIS_OWNER, TEST_REDIS_CLAIM_SECONDS)


DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
REDIS_URL = _test_redis_url()
CELERY_BROKER_URL = REDIS_URL
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "partnerhub-test",
    }
}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
PARTNERHUB_DEMO_ACCOUNTS = False
# A fixed Fernet key (not secret), so worker processes started by tests decrypt
# the refresh token the test process stored.
PARTNERHUB_SECRETS_KEY = "dGVzdC1zZWNyZXRzLWtleS1ub3Qtc2VjcmV0LTAxMjM="
# A fixed key, so worker processes started by tests link the same chain.
PARTNERHUB_AUDIT_KEY = "test-audit-key-not-secret-0123456789abcdef"
# A test's data lives in its own transaction, which other threads cannot see: a
# sync reads its customers one after another (tests that need threads say so).
PARTNERHUB_SYNC_CONCURRENCY = 1
# Test databases are migrated before each test's checkpoint file exists; the
# tests of the start-up verification switch it on.
PARTNERHUB_AUDIT_VERIFY_ON_MIGRATE = False
# One file per test process; tests/conftest.py gives each test its own.
PARTNERHUB_AUDIT_CHECKPOINT_FILE = Path(tempfile.gettempdir()) / (
    f"partnerhub-test-audit-checkpoint-{os.getpid()}.json"
)

# Django's test runner flushes tables with TRUNCATE between transactional tests; the
# audit table's trigger refuses TRUNCATE unless the session opts in (migration 0003).
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    _options["options"] = (
        _options.get("options", "") + " -c partnerhub.allow_audit_truncate=on"
    ).strip()

# Tests with several threads or worker processes need one database they all see:
# an in-memory SQLite database refuses concurrent writers ("table is locked"). One
# file per test process, so concurrent runs never share it.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {
        "NAME": os.path.join(
            tempfile.gettempdir(), f"partnerhub-test-{os.getpid()}.sqlite3"
        )
    }
