"""How long a sync may run and wait, and the Redis locks that keep it alone."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import redis
from django.conf import settings

logger = logging.getLogger(__name__)


# The run stops taking new customers this long before Celery's soft limit, so a
# throttled or very large sync ends cleanly and the next run carries on. Both
# limits stay well below the broker's visibility_timeout (one hour), so a long
# run is never delivered twice.
SYNC_SOFT_TIME_LIMIT = 1800
SYNC_TIME_LIMIT = 1900
# The lock outlives the hard limit, so a killed run's lock frees itself.
SYNC_LOCK_SECONDS = SYNC_TIME_LIMIT + 60
# The shared token bucket paces the sync: wait for a slot rather than fail.
SYNC_MAX_LOCAL_WAIT_SECONDS = 30.0
SYNC_LOCK_KEY = "partnerhub:sync:lock"
CUSTOMER_SYNC_LOCK_KEY = "partnerhub:sync:customer:{pk}"


@contextmanager
def sync_lock(seconds: float, key: str = SYNC_LOCK_KEY) -> Iterator[bool]:
    """Yield whether the lock `key` was taken; release it on the way out."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    lock = client.lock(key, timeout=seconds, blocking=False)
    acquired = bool(lock.acquire(blocking=False))
    try:
        yield acquired
    finally:
        if acquired:
            try:
                lock.release()
            except redis.exceptions.LockError:
                logger.warning("The sync lock expired before the run finished")
        client.close()
