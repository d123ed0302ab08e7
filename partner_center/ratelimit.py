"""Rate limiters consulted before every Partner Center call.

``RedisRateLimiter`` is a token bucket kept in Redis and updated by one Lua script, so
every worker process that uses the same key shares one budget. Time comes from the
Redis server (``TIME``), so clocks of different hosts do not matter.
"""

from __future__ import annotations

from typing import Protocol

import redis

from partner_center.errors import TransientError

__all__ = [
    "DEFAULT_BURST",
    "DEFAULT_RATE_PER_MINUTE",
    "NullRateLimiter",
    "RateLimiter",
    "RedisRateLimiter",
]

# Subscription, order and customer resources: 500 requests/minute per tenant
# (partner-center-api.md §1.8).
DEFAULT_RATE_PER_MINUTE = 500
# Small on purpose: the bucket allows burst + rate * t calls in t seconds, and
# Partner Center's own window is a minute.
DEFAULT_BURST = 10

# KEYS[1] bucket key; ARGV[1] tokens per second; ARGV[2] burst.
# Returns the seconds to wait as a string ("0" when a token was taken), because
# Lua numbers returned to Redis are truncated to integers.
_TOKEN_BUCKET_LUA = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = burst
  ts = now
end
if now > ts then
  tokens = math.min(burst, tokens + (now - ts) * rate)
end
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 60000)
return tostring(wait)
"""


class RateLimiter(Protocol):
    def try_acquire(self) -> float:
        """Return 0.0 when a token was taken, else the seconds to wait."""
        ...


class NullRateLimiter:
    """A limiter that never limits (tests, one-off scripts)."""

    def try_acquire(self) -> float:
        """Return 0.0: a token is always available."""
        return 0.0


class RedisRateLimiter:
    """A token bucket in Redis shared by every process using the same ``key``."""

    def __init__(
        self,
        redis_url: str,
        key: str,
        rate_per_minute: float = DEFAULT_RATE_PER_MINUTE,
        burst: int = DEFAULT_BURST,
        *,
        client: redis.Redis | None = None,
    ) -> None:
        if rate_per_minute <= 0:
            raise ValueError("rate_per_minute must be positive")
        if burst < 1:
            raise ValueError("burst must be at least 1")
        self.key = key
        self.rate_per_minute = rate_per_minute
        self.burst = burst
        self._redis = client or redis.Redis.from_url(
            redis_url, socket_timeout=2.0, socket_connect_timeout=2.0
        )
        # Script objects use EVALSHA and reload the script after a Redis restart.
        self._script = self._redis.register_script(_TOKEN_BUCKET_LUA)

    def try_acquire(self) -> float:
        """Return 0.0 when a token was taken, else the seconds until one is free.

        Raise TransientError if Redis cannot be reached.
        """
        try:
            raw = self._script(
                keys=[self.key],
                args=[repr(self.rate_per_minute / 60.0), str(self.burst)],
            )
        except redis.RedisError as exc:
            raise TransientError(
                f"Rate limiter unavailable ({type(exc).__name__})"
            ) from exc
        if isinstance(raw, bytes):
            raw = raw.decode()
        wait = float(raw)
        return 0.0 if wait <= 0 else wait
