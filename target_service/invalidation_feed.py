"""Cross-instance invalidation of the L1 (`LocalCache`): every version bump is published on
one Redis channel by the same script that bumps it, and each instance applies what it hears.

Pub/sub delivers to a connected subscriber in order and forgets everything else, so the feed
also proves it is current: it sends a PING on the subscribed connection every `HEARTBEAT_S`.
Redis answers a subscriber's PING in line with its messages, so when the PONG of a PING sent
at `t` arrives, every bump Redis applied before `t` has been applied here too; the L1 is
used only while such a `t` lies within `WINDOW_S` of now. On any error, or when no PONG
came for `STALL_S`, the feed flushes the L1 (messages may have been lost) and reconnects:
until the first PONG after that, the L1 is bypassed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque

import redis.asyncio as aioredis
from prometheus_client import Counter

from target_service.local_cache import LocalCache

log = logging.getLogger("target_service.cache")

CHANNEL = "lc:inv"
HEARTBEAT_S = 0.1
WINDOW_S = 0.5  # the documented bound: L1 serves nothing invalidated longer ago than this
STALL_S = 1.0
RETRY_S = 1.0
CLOSE_TIMEOUT_S = 2.0


class InvalidationFeed:
    """Subscribes once per instance; `start()` inside the running loop, `close()` at exit."""

    def __init__(self, pool: aioredis.ConnectionPool, local: LocalCache) -> None:
        self.client = aioredis.Redis(connection_pool=pool)
        self.local = local
        local.window_s = WINDOW_S
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.received: Counter | None = None  # counts the messages applied, when set

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="loadcap-invalidation-feed")

    async def close(self) -> None:
        self._closing = True
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            # redis-py may turn the cancellation into a connection error: the flag ends the
            # loop then, and the wait is bounded either way.
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(task, CLOSE_TIMEOUT_S)
        await self.client.aclose(close_connection_pool=False)

    async def _run(self) -> None:
        while not self._closing:
            try:
                await self._follow()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # any failure: messages may be lost
                log.debug("invalidation feed lost (%s)", type(exc).__name__)
            self._lost()
            if not self._closing:
                await asyncio.sleep(RETRY_S)

    def _lost(self) -> None:
        self.local.confirmed_at = float("-inf")
        self.local.flush()

    async def _follow(self) -> None:
        pubsub = self.client.pubsub()
        try:
            await pubsub.subscribe(CHANNEL)
            pings: deque[float] = deque()
            next_ping = 0.0
            while not self._closing:
                now = time.monotonic()
                if now >= next_ping:
                    pings.append(now)
                    await pubsub.execute_command("PING")
                    next_ping = now + HEARTBEAT_S
                if pings and now - pings[0] > STALL_S:
                    raise TimeoutError("no PONG from Redis")
                message = await pubsub.get_message(timeout=max(0.0, next_ping - now))
                if message is None:
                    continue
                kind = message["type"]
                if kind == "message":
                    self.local.invalidate(message["data"].decode().split())
                    if self.received is not None:
                        self.received.inc()
                elif kind == "pong" and pings:
                    self.local.confirmed_at = pings.popleft()
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()  # type: ignore[no-untyped-call]
