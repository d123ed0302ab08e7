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
# claim lasts without a test run renewing it.
TEST_REDIS_OWNER_KEY = "partnerhub-test:checkout"
TEST_REDIS_OWNER = str(BASE_DIR)
TEST_REDIS_CLAIM_SECONDS = 7 * 24 * 3600
# Not 0 (`make run`), 10 (the worker-kill test's workers), 14 (what test runs used
# to empty) or 15 (the Partner Center client tests' rate-limit buckets).
_TEST_REDIS_CANDIDATES = [n for n in range(1, 14) if n != 10]


def _test_redis_url() -> str:
    """Return the Redis URL this checkout's tests use, claiming a database if needed.

    `TEST_REDIS_URL` wins. Otherwise the tests take a database on 127.0.0.1:6379 of
    their own, so the per-test flush never empties another checkout's (or anyone
    else's) data: the one that already names this checkout under
    `TEST_REDIS_OWNER_KEY`, else the first empty one in an order derived from the
    checkout path, which is then claimed. Raise ImproperlyConfigured if none is free.
    """
    explicit = os.environ.get("TEST_REDIS_URL")
    if explicit:
        return explicit
    start = int(hashlib.sha256(TEST_REDIS_OWNER.encode()).hexdigest(), 16)
    count = len(_TEST_REDIS_CANDIDATES)
    order = [_TEST_REDIS_CANDIDATES[(start + i) % count] for i in range(count)]
    clients = {
        n: redis.Redis(host="127.0.0.1", port=6379, db=n, socket_connect_timeout=2)
        for n in order
    }
    try:
        for claiming in (False, True):
            for number, client in clients.items():
                if claiming and client.dbsize() == 0:
                    client.set(
                        TEST_REDIS_OWNER_KEY,
                        TEST_REDIS_OWNER,
                        nx=True,
                        ex=TEST_REDIS_CLAIM_SECONDS,
                    )
                if client.get(TEST_REDIS_OWNER_KEY) == TEST_REDIS_OWNER.encode():
                    client.expire(TEST_REDIS_OWNER_KEY, TEST_REDIS_CLAIM_SECONDS)
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
