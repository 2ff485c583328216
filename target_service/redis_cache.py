"""The production cache backend: Redis through `redis.asyncio`, configured to fail fast.

Timeouts are `redis_timeout_s` (50 ms by default) for connecting and for each command, and
redis-py's own retries are switched off: the cache's circuit (see cache.py) decides when to
try again, so an outage costs milliseconds, not seconds.

Each cache operation is one round trip: a profile lookup is one MGET, a list-page lookup one
script (epoch, entry and the versions the entry names), the bumps of one write one script,
which also publishes the bumped keys for the other instances' L1 (invalidation_feed.py).
The scripts read keys they compute from an entry, so they need one Redis, not a Cluster.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from target_service.cache import CacheUnavailable, PageRead
from target_service.invalidation_feed import CHANNEL, InvalidationFeed
from target_service.local_cache import LocalCache

# max(current + 1, at_least): versions stay unique and, when at_least is "now in ms",
# record when the last write happened.
# KEYS are bumped together and published on ARGV[3] as one space-separated message.
BUMP_SCRIPT = """
for _, key in ipairs(KEYS) do
  local current = tonumber(redis.call('GET', key) or '0')
  local version = math.max(current + 1, tonumber(ARGV[1]))
  if ARGV[2] == '' then
    redis.call('SET', key, version)
  else
    redis.call('SET', key, version, 'PX', ARGV[2])
  end
end
redis.call('PUBLISH', ARGV[3], table.concat(KEYS, ' '))
return 1
"""

# KEYS: epoch, the page entry, then the version keys to read when there is no entry (or an
# entry this code cannot parse). An entry `<epoch>:<dep>=<version>,...:<body>` names its own
# deps (see list_versions.PageEntry); KEYS[3] (`lc:lt`) is read either way.
# Returns {epoch, entry, dep1, version1, dep2, version2, ...}.
PAGE_SCRIPT = """
local epoch = redis.call('GET', KEYS[1])
local entry = redis.call('GET', KEYS[2])
local deps = {}
local header = nil
if entry then
  local first = string.find(entry, ':', 1, true)
  if first then
    local second = string.find(entry, ':', first + 1, true)
    if second then header = string.sub(entry, first + 1, second - 1) end
  end
end
if header then
  deps[1] = KEYS[3]
  for token in string.gmatch(header, '([^,=]+)=[0-9]+') do
    local key = 'lc:' .. string.gsub(token, '%.', ':')
    if key ~= KEYS[3] then deps[#deps + 1] = key end
  end
else
  for i = 3, #KEYS do deps[#deps + 1] = KEYS[i] end
end
local out = {epoch or false, entry or false}
local values = redis.call('MGET', unpack(deps))
for i, key in ipairs(deps) do
  out[#out + 1] = key
  out[#out + 1] = values[i] or false
end
return out
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
        self.pool = pool
        self.client = aioredis.Redis(connection_pool=pool)
        self._bump = self.client.register_script(BUMP_SCRIPT)
        self._page = self.client.register_script(PAGE_SCRIPT)

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        values: list[bytes | None] = await self._call(self.client.mget(keys))
        return values

    async def get_page(self, epoch_key: str, key: str, deps: Sequence[str]) -> PageRead:
        out = await self._call(self._page(keys=[epoch_key, key, *deps]))
        seen = {name.decode(): value for name, value in zip(out[2::2], out[3::2], strict=True)}
        return PageRead(out[0], out[1], seen)

    def invalidation_feed(self, local: LocalCache) -> InvalidationFeed:
        return InvalidationFeed(self.pool, local)

    async def set(self, key: str, value: bytes, ttl_s: float) -> None:
        await self._call(self.client.set(key, value, px=max(1, int(ttl_s * 1000))))

    async def bump(self, keys: Sequence[str], at_least: int, ttl_s: float | None) -> None:
        ttl_ms = "" if ttl_s is None else str(max(1, int(ttl_s * 1000)))
        await self._call(self._bump(keys=list(keys), args=[at_least, ttl_ms, CHANNEL]))

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
