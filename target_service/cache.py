"""Cache-aside for profiles and list pages over a tiny `CacheBackend` (in-process or Redis).

Correctness rests on versions, not on deleting keys:
- every cached value is stored behind a stamp `<epoch>:<version>:` where `version` is the
  key's version (one per profile, one for all list pages) and `epoch` a global generation;
- a lookup reads epoch, version and value in one round trip and treats a value whose stamp is
  not the current one as a miss. A write bumps the version after committing, so a reader that
  loaded the old row before the bump stores it under the old stamp, where no one will ever
  read it: the stale-set race cannot resurrect old data, and no key is ever scanned;
- a version is the Unix time in ms of the write that bumped it, so a miss within
  `read_your_writes_s` of a write loads from the primary: a lagging replica cannot put the
  old row back under the new stamp;
- an instance that could not deliver an invalidation (cache down) bumps the epoch when the
  cache is back, which retires every entry it may have left stale.

The cache never takes the service down: on a backend error it counts `cache_errors`, answers
from the database and stops using the backend for `RETRY_S` (one probe per interval after
that), so an outage costs a failed connection per second, not one per request.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

import msgspec

from target_service.metrics import ServiceMetrics
from target_service.settings import Settings
from target_service.storage import Check, ProfileStore

EPOCH_KEY = "lc:epoch"
LIST_VERSION_KEY = "lc:lv"
RETRY_S = 1.0
# Version keys must outlive the entries and any in-flight load they guard.
VERSION_TTL_S = 24 * 3600.0

Loader = Callable[[bool], Awaitable[bytes | None]]


class CacheUnavailable(Exception):
    """The cache backend failed (connection, timeout, protocol); the caller falls through."""


class CacheBackend(Protocol):
    """What ProfileCache needs from a key-value store. Errors raise `CacheUnavailable`."""

    name: str

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]: ...

    async def set(self, key: str, value: bytes, ttl_s: float) -> None: ...

    async def bump(self, key: str, at_least: int, ttl_s: float | None) -> int:
        """Atomically set `key` to max(current + 1, at_least) and return it."""
        ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class SingleFlight:
    """At most one load per key at a time in this process; concurrent callers share its result.

    The load runs in its own task so a caller that goes away (client disconnect) does not
    cancel it for the others.
    """

    def __init__(self) -> None:
        self._flights: dict[object, asyncio.Task[bytes | None]] = {}
        self.waiting = 0  # callers awaiting a flight right now (observability, tests)

    async def run(self, key: object, load: Callable[[], Awaitable[bytes | None]]) -> bytes | None:
        task = self._flights.get(key)
        if task is None:
            task = asyncio.ensure_future(load())
            self._flights[key] = task
            task.add_done_callback(lambda done: self._finish(key, done))
        self.waiting += 1
        try:
            return await asyncio.shield(task)
        finally:
            self.waiting -= 1

    def _finish(self, key: object, task: asyncio.Task[bytes | None]) -> None:
        self._flights.pop(key, None)
        if not task.cancelled():
            task.exception()  # mark retrieved: waiters may all be gone

    def __len__(self) -> int:
        return len(self._flights)


class ProfileCache:
    """Cache-aside in front of a `ProfileStore`; values are the encoded JSON response bodies."""

    def __init__(
        self,
        backend: CacheBackend,
        store: ProfileStore,
        settings: Settings,
        metrics: ServiceMetrics,
    ) -> None:
        self.backend = backend
        self.store = store
        self.profile_ttl_s = settings.profile_ttl_s
        self.list_ttl_s = settings.list_ttl_s
        self.read_your_writes_ms = int(settings.read_your_writes_s * 1000)
        self.flights = SingleFlight()
        self.healthy = True
        self._retry_at = 0.0
        self._lost_invalidation = False
        self._errors = metrics.cache_errors
        self._results = {
            (kind, result): metrics.cache_requests.labels(kind, result)
            for kind in ("profile", "list")
            for result in ("hit", "miss")
        }

    async def profile_json(self, profile_id: int, *, primary: bool) -> bytes | None:
        async def load(use_primary: bool) -> bytes | None:
            profile = await self.store.get_profile(profile_id, primary=use_primary)
            return None if profile is None else msgspec.json.encode(profile)

        key = f"lc:p:{profile_id}"
        return await self._cached("profile", key, f"lc:pv:{profile_id}", primary, load)

    async def page_json(self, page: int, limit: int, *, primary: bool) -> bytes:
        offset = (page - 1) * limit

        async def load(use_primary: bool) -> bytes:
            # One extra row says whether another page exists, without a COUNT(*).
            rows = await self.store.list_profiles(
                offset=offset, limit=limit + 1, primary=use_primary
            )
            body = {"items": rows[:limit], "page": page, "limit": limit}
            body["has_more"] = len(rows) > limit
            return msgspec.json.encode(body)

        key = f"lc:l:{offset}:{limit}"
        body = await self._cached("list", key, LIST_VERSION_KEY, primary, load)
        assert body is not None  # a page always loads, possibly empty
        return body

    async def invalidate_profile(self, profile_id: int) -> None:
        await self._bump(f"lc:pv:{profile_id}", VERSION_TTL_S)

    async def invalidate_lists(self) -> None:
        await self._bump(LIST_VERSION_KEY, None)

    async def check(self) -> Check:
        usable = await self._usable()
        detail = self.backend.name if usable else f"{self.backend.name} unreachable"
        return Check("cache", ok=usable, critical=False, detail=detail)

    async def close(self) -> None:
        await self.backend.close()

    async def _cached(
        self, kind: str, key: str, version_key: str, primary: bool, load: Loader
    ) -> bytes | None:
        ttl_s = self.profile_ttl_s if kind == "profile" else self.list_ttl_s
        # TTL 0 switches this kind of caching off: no lookup round trip for nothing.
        if ttl_s <= 0 or not (self.healthy or await self._usable()):
            return await load(primary)
        try:
            epoch, version, stored = await self.backend.get_many((EPOCH_KEY, version_key, key))
        except CacheUnavailable:
            self._failed()
            return await load(primary)
        stamp = b"%b:%b:" % (epoch or b"0", version or b"0")
        if stored is not None and stored.startswith(stamp):
            self._results[kind, "hit"].inc()
            return stored[len(stamp) :]
        self._results[kind, "miss"].inc()
        if version is not None and now_ms() - int(version) < self.read_your_writes_ms:
            primary = True

        async def fill() -> bytes | None:
            value = await load(primary)
            if value is not None:
                try:
                    await self.backend.set(key, stamp + value, ttl_s)
                except CacheUnavailable:
                    self._failed()
            return value

        return await self.flights.run((key, stamp, primary), fill)

    async def _bump(self, version_key: str, ttl_s: float | None) -> None:
        if not (self.healthy or await self._usable()):
            self._lost_invalidation = True
            return
        try:
            await self.backend.bump(version_key, now_ms(), ttl_s)
        except CacheUnavailable:
            self._failed()
            self._lost_invalidation = True

    async def _usable(self) -> bool:
        """Healthy, or probe the backend at most once per RETRY_S while it is down."""
        if self.healthy:
            return True
        now = time.monotonic()
        if now < self._retry_at:
            return False
        self._retry_at = now + RETRY_S
        try:
            if self._lost_invalidation:
                await self.backend.bump(EPOCH_KEY, 0, None)
            else:
                await self.backend.ping()
        except CacheUnavailable:
            self._errors.inc()
            return False
        self.healthy, self._lost_invalidation = True, False
        return True

    def _failed(self) -> None:
        self._errors.inc()
        self.healthy = False
        self._retry_at = time.monotonic() + RETRY_S
