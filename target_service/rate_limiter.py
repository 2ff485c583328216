"""Per-client rate limiting with the `limits` library (moving window), failing open.

With a Redis URL every instance counts in the same Redis keys, so a client behind a load
balancer gets the limit once, not once per instance. Without one, counts live in this
process only. A storage failure lets the request through and opens a
`circuit_breaker.CircuitBreaker`: the storage is tried again once a second, not per request.
"""

from __future__ import annotations

import logging
import math
import time

import limits
import redis.asyncio as aioredis
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from target_service.circuit_breaker import CircuitBreaker
from target_service.metrics import ServiceMetrics
from target_service.storage import Check

log = logging.getLogger("target_service.rate_limit")


class ClientRateLimiter:
    """`allow(client)` -> None when the request may go on, else seconds until it may retry."""

    def __init__(
        self,
        rate: str,
        metrics: ServiceMetrics,
        *,
        redis_url: str | None = None,
        redis_pool: aioredis.ConnectionPool | None = None,
    ) -> None:
        self.item = limits.parse(rate)
        self.rate = rate
        self.shared = redis_url is not None
        self._redis_url = redis_url
        self._redis_pool = redis_pool
        self._limiter: MovingWindowRateLimiter | None = None
        self._rate_limited = metrics.rate_limited
        self.breaker = CircuitBreaker(metrics.rate_limit_errors)

    def open(self) -> None:
        """Build the storage; call inside the running event loop (MemoryStorage needs one)."""
        storage: Storage
        if self._redis_url is not None:
            storage = RedisStorage(
                "async+" + self._redis_url,
                implementation="redispy",
                wrap_exceptions=True,
                connection_pool=self._redis_pool,  # type: ignore[arg-type]
            )
        else:
            storage = MemoryStorage()
            log.warning(
                "rate limit %s is per instance (in-process counts): behind a load balancer "
                "with N instances a client gets N times the limit; give a Redis URL to share it",
                self.rate,
            )
        self._limiter = MovingWindowRateLimiter(storage)

    async def allow(self, client: str) -> float | None:
        limiter = self._limiter
        breaker = self.breaker
        if limiter is None or not breaker.allows():
            return None
        try:
            if await limiter.hit(self.item, client):
                breaker.succeeded()
                return None
            stats = await limiter.get_window_stats(self.item, client)
        except Exception as exc:
            # Fail open: a limiter outage must not turn into refused traffic.
            if breaker.closed:
                log.warning("rate limiter storage failed (%s): failing open", type(exc).__name__)
            breaker.failed()
            return None
        breaker.succeeded()
        self._rate_limited.inc()
        return max(1.0, math.ceil(stats.reset_time - time.time()))

    @property
    def healthy(self) -> bool:
        return self.breaker.closed

    def check(self) -> Check:
        where = "redis (shared)" if self.shared else "in-process (per instance)"
        detail = where if self.healthy else f"{where} unreachable: failing open"
        return Check("rate_limiter", ok=self.healthy, critical=False, detail=detail)
