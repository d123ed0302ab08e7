"""Failed sign-ins counted per address, so one password sprayed over many
usernames is stopped (django-axes locks a username and address pair only)."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from redis.exceptions import RedisError

__all__ = ["signin_address_failed", "signin_address_held", "signin_hold_minutes"]

logger = logging.getLogger(__name__)


def _key(address: str) -> str:
    return f"partnerhub:signin-failures:{address}"


def _window_seconds() -> int:
    cooloff = settings.AXES_COOLOFF_TIME
    if isinstance(cooloff, timedelta):
        return max(int(cooloff.total_seconds()), 60)
    return 15 * 60


def signin_hold_minutes() -> int:
    """Return how long an address is held after too many failures, in minutes."""
    return _window_seconds() // 60


def signin_address_held(address: str | None) -> bool:
    """Return True if `address` failed to sign in too often within the window.

    Without Redis this says False: the per-username lockout still holds then.
    """
    if not address:
        return False
    try:
        failures = cache.get(_key(address), 0)
    except (RedisError, OSError):
        logger.warning("Sign-in failures per address not checked: Redis unreachable.")
        return False
    return int(failures or 0) >= settings.PARTNERHUB_SIGNIN_FAILURES_PER_ADDRESS


def signin_address_failed(address: str | None) -> None:
    """Count one failed sign-in from `address`; the count lapses after the window."""
    if not address:
        return
    key = _key(address)
    try:
        cache.add(key, 0, timeout=_window_seconds())
        cache.incr(key)
    except ValueError:
        # The key lapsed between add and incr: this failure starts a new window.
        cache.add(key, 1, timeout=_window_seconds())
    except (RedisError, OSError):
        logger.warning("Sign-in failure not counted per address: Redis unreachable.")
