"""The production cache backend: Redis through `redis.asyncio`, configured to fail fast.

Timeouts are `redis_timeout_s` (50 ms by default) for connecting and for each command, and
redis-py's own retries are switched off: the cache's circuit (see cache.py) decides when to
try again, so an outage costs milliseconds, not seconds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from target_service.cache import CacheUnavailable

# max(current + 1, at_least): versions stay unique and, when at_least is "now in ms",
# record when the last write happened.
BUMP_SCRIPT = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local version = math.max(current + 1, tonumber(ARGV[1]))
if ARGV[2] == '' then
  redis.call('SET', KEYS[1], version)
else
  redis.call('SET', KEYS[1], version, 'PX', ARGV[2])
end
return version
"""

FAILURES = (RedisError, OSError, asyncio.TimeoutError)


def fail_fast_pool(url: str, timeout_s: float) -> aioredis.ConnectionPool:
    """Connections that give up after `timeout_s` and never retry on their own.

    The cache and the rate limiter share one pool per app instance.
    """
    return aioredis.ConnectionPool.from_url(
        url,
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        retry=Retry(NoBackoff(), 0),
        health_check_interval=0,
    )


class RedisCacheBackend:
    """`CacheBackend` on Redis. Closing it does not close the shared pool (the app does)."""

    name = "redis"

    def __init__(self, pool: aioredis.ConnectionPool) -> None:
        self.client = aioredis.Redis(connection_pool=pool)
        self._bump = self.client.register_script(BUMP_SCRIPT)

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        values: list[bytes | None] = await self._call(self.client.mget(keys))
        return values

    async def set(self, key: str, value: bytes, ttl_s: float) -> None:
        await self._call(self.client.set(key, value, px=max(1, int(ttl_s * 1000))))

    async def bump(self, key: str, at_least: int, ttl_s: float | None) -> int:
        ttl_ms = "" if ttl_s is None else str(max(1, int(ttl_s * 1000)))
        return int(await self._call(self._bump(keys=[key], args=[at_least, ttl_ms])))

    async def ping(self) -> None:
        await self._call(self.client.ping())

    async def close(self) -> None:
        await self.client.aclose(close_connection_pool=False)

    @staticmethod
    async def _call(command: Any) -> Any:
        try:
            return await command
        except FAILURES as exc:
            raise CacheUnavailable(f"redis: {type(exc).__name__}") from exc
