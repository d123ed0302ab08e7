"""The Redis token bucket, against the real Redis (db 15, a fresh key per test)."""

from __future__ import annotations

import time

import pytest

from partner_center.errors import TransientError
from partner_center.ratelimit import NullRateLimiter, RedisRateLimiter
from tests.partner_center.support import REDIS_URL


def test_it_allows_a_burst_then_asks_to_wait(redis_key: str) -> None:
    limiter = RedisRateLimiter(REDIS_URL, redis_key, rate_per_minute=60, burst=3)

    waits = [limiter.try_acquire() for _ in range(4)]

    assert waits[:3] == [0.0, 0.0, 0.0]
    assert 0.9 < waits[3] <= 1.0


def test_two_limiters_sharing_a_key_share_one_budget(redis_key: str) -> None:
    first = RedisRateLimiter(REDIS_URL, redis_key, rate_per_minute=60, burst=2)
    second = RedisRateLimiter(REDIS_URL, redis_key, rate_per_minute=60, burst=2)

    assert first.try_acquire() == 0.0
    assert second.try_acquire() == 0.0
    assert first.try_acquire() > 0
    assert second.try_acquire() > 0


def test_limiters_with_different_keys_do_not_share(redis_key: str) -> None:
    first = RedisRateLimiter(REDIS_URL, redis_key, rate_per_minute=60, burst=1)
    other = RedisRateLimiter(REDIS_URL, redis_key + ":other", 60, burst=1)

    assert first.try_acquire() == 0.0
    assert other.try_acquire() == 0.0


def test_a_refused_attempt_does_not_spend_a_token(redis_key: str) -> None:
    limiter = RedisRateLimiter(REDIS_URL, redis_key, rate_per_minute=600, burst=1)

    assert limiter.try_acquire() == 0.0
    for _ in range(5):
        assert limiter.try_acquire() > 0
    time.sleep(0.12)

    assert limiter.try_acquire() == 0.0


def test_it_refills_at_the_configured_rate(redis_key: str) -> None:
    limiter = RedisRateLimiter(REDIS_URL, redis_key, rate_per_minute=1200, burst=1)
    assert limiter.try_acquire() == 0.0

    wait = limiter.try_acquire()
    time.sleep(wait + 0.01)

    assert 0 < wait <= 0.05
    assert limiter.try_acquire() == 0.0


def test_the_bucket_key_expires_when_idle(redis_key: str) -> None:
    limiter = RedisRateLimiter(REDIS_URL, redis_key, rate_per_minute=60, burst=5)
    limiter.try_acquire()

    import redis

    ttl = redis.Redis.from_url(REDIS_URL).pttl(redis_key)
    assert 0 < ttl <= 65_000


def test_an_unreachable_redis_raises_transient_error(redis_key: str) -> None:
    limiter = RedisRateLimiter("redis://127.0.0.1:1/15", redis_key, 60, 1)

    with pytest.raises(TransientError):
        limiter.try_acquire()


def test_the_null_limiter_never_waits() -> None:
    assert NullRateLimiter().try_acquire() == 0.0


def test_it_rejects_nonsense_settings(redis_key: str) -> None:
    with pytest.raises(ValueError):
        RedisRateLimiter(REDIS_URL, redis_key, rate_per_minute=0)
    with pytest.raises(ValueError):
        RedisRateLimiter(REDIS_URL, redis_key, burst=0)
