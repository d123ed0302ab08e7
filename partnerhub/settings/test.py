"""Settings for the test suite: fast hashing, an isolated Redis database."""

from __future__ import annotations

import os
import tempfile

from partnerhub.settings import *  # noqa: F403
from partnerhub.settings import DATABASES

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
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
