"""Cache-aside for profiles and list pages over a tiny `CacheBackend` (in-process or Redis).

Correctness rests on versions, not on deleting keys:
- every cached value is stored behind a stamp of the versions it depends on and a global
  generation, the epoch. A profile is stamped `<epoch>:<version>:` with its own version;
- a lookup reads the epoch, the versions and the value and treats a value whose stamp is
  not the current one as a miss. A write bumps the versions after committing, and a reader
  reads them BEFORE loading, so a reader that loaded the old row before the bump stores it
  under the old stamp, where no one will ever read it: the stale-set race cannot resurrect
  old data, and no key is ever scanned;
- a version is the Unix time in ms of the write that bumped it, so a miss within
  `read_your_writes_s` of a write loads from the primary: a lagging replica cannot put the
  old row back under the new stamp;
- an instance that could not deliver an invalidation (cache down) bumps the epoch when the
  cache is back, which retires every entry it may have left stale.

List pages are guarded by the versions `target_service.list_versions` assigns them, so a
write invalidates only the pages it can change.

In front of the backend sits a small in-process L1 (`local_cache.LocalCache`): the ready
bodies of recent hits, dropped when a version they were validated under is bumped, by this
instance at once and by the others through the Redis invalidation feed within
`invalidation_feed.WINDOW_S`. A hot hit therefore costs no round trip. Reads of a client
that wrote within `read_your_writes_s` skip the L1, so its own writes are never hidden by
another instance's not yet invalidated copy.

The cache never takes the service down: on a backend error it counts `cache_errors`, answers
from the database and stops using the backend for a second, then probes it once a second
(`circuit_breaker.CircuitBreaker`), so an outage costs a failed connection per second, not
one per request.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import msgspec
from prometheus_client import Counter

from target_service.circuit_breaker import CircuitBreaker
from target_service.list_versions import (
    LIST_TAIL_KEY,
    LIST_VERSION_KEY,
    LoadedPage,
    PageEntry,
    bucket_key,
    guessed_deps,
    page_deps,
)
from target_service.local_cache import LocalCache
from target_service.metrics import ServiceMetrics
from target_service.settings import Settings
from target_service.single_flight import SingleFlight
from target_service.storage import Check, ProfileStore

EPOCH_KEY = "lc:epoch"
# Version keys must outlive the entries and any in-flight load they guard.
VERSION_TTL_S = 24 * 3600.0

Loader = Callable[[bool], Awaitable[bytes | None]]


class CacheUnavailable(Exception):
    """The cache backend failed (connection, timeout, protocol); the caller falls through."""


@dataclass(frozen=True, slots=True)
class PageRead:
    """One round trip of a list lookup: the epoch, the entry, and the versions it needs."""

    epoch: bytes | None
    entry: bytes | None
    seen: dict[str, bytes | None]  # `lc:lt`, then the entry's deps (or, without one, the guess)


class InvalidationFeed(Protocol):
    received: Counter | None  # counts the messages applied, when set

    def start(self) -> None: ...

    async def close(self) -> None: ...


class CacheBackend(Protocol):
    """What ProfileCache needs from a key-value store. Errors raise `CacheUnavailable`."""

    name: str

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]: ...

    async def get_page(self, epoch_key: str, key: str, deps: Sequence[str]) -> PageRead:
        """Epoch, entry `key`, and the versions of `deps[0]` plus the deps the entry names
        (without a readable entry: all of `deps`)."""
        ...

    async def set(self, key: str, value: bytes, ttl_s: float) -> None: ...

    async def bump(self, keys: Sequence[str], at_least: int, ttl_s: float | None) -> None:
        """Atomically set each key to max(current + 1, at_least), and tell other instances."""
        ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...

    def invalidation_feed(self, local: LocalCache) -> InvalidationFeed | None:
        """What keeps `local` current with other instances' writes (None: nothing to)."""
        ...


def now_ms() -> int:
    return time.time_ns() // 1_000_000


PageLoader = Callable[[bool], Awaitable[LoadedPage]]


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
        self.local = LocalCache(settings.local_cache_entries)
        self.feed = backend.invalidation_feed(self.local)
        if self.feed is not None:
            self.feed.received = metrics.cache_invalidations_received
        self._feed_started = self.feed is None
        self.breaker = CircuitBreaker(metrics.cache_errors)
        self._lost_invalidation = False
        self._results = {
            (kind, result): metrics.cache_requests.labels(kind, result)
            for kind in ("profile", "list")
            for result in ("hit", "miss")
        }
        self._profile_hits = self._results["profile", "hit"]
        self._list_hits = self._results["list", "hit"]
        self._profile_local_hits = metrics.local_cache_hits.labels("profile")
        self._list_local_hits = metrics.local_cache_hits.labels("list")

    @property
    def healthy(self) -> bool:
        return self.breaker.closed

    def _local_hit(self, key: str, primary: bool) -> bytes | None:
        if not self._feed_started:
            self._feed_started = True
            assert self.feed is not None
            self.feed.start()  # here: the first lookup runs inside the serving event loop
        # A client that wrote recently skips the L1: another instance's copy may predate it.
        return None if primary else self.local.get(key)

    async def profile_json(self, profile_id: int, *, primary: bool) -> bytes | None:
        key = f"lc:p:{profile_id}"
        body = self._local_hit(key, primary)
        if body is not None:
            self._profile_hits.inc()
            self._profile_local_hits.inc()
            return body

        async def load(use_primary: bool) -> bytes | None:
            profile = await self.store.get_profile(profile_id, primary=use_primary)
            return None if profile is None else msgspec.json.encode(profile)

        return await self._cached_profile(key, f"lc:pv:{profile_id}", primary, load)

    async def page_json(self, page: int, limit: int, *, primary: bool) -> bytes:
        offset = (page - 1) * limit
        key = f"lc:l:{offset}:{limit}"
        body = self._local_hit(key, primary)
        if body is not None:
            self._list_hits.inc()
            self._list_local_hits.inc()
            return body

        async def load(use_primary: bool) -> LoadedPage:
            # One extra row says whether another page exists, without a COUNT(*).
            rows = await self.store.list_profiles(
                offset=offset, limit=limit + 1, primary=use_primary
            )
            items, has_more = rows[:limit], len(rows) > limit
            body = {"items": items, "page": page, "limit": limit, "has_more": has_more}
            return LoadedPage(msgspec.json.encode(body), page_deps(items, has_more))

        # TTL 0 switches list caching off: no lookup round trip for nothing.
        if self.list_ttl_s <= 0 or not (self.breaker.closed or await self._usable()):
            return (await load(primary)).body
        return await self._cached_page(key, offset, limit, primary, load)

    async def invalidate_profile(self, profile_id: int) -> None:
        """After a patch: the profile's entry and every list page that shows it."""
        await self._bump((f"lc:pv:{profile_id}", bucket_key(profile_id)), VERSION_TTL_S)

    async def invalidate_list_tail(self) -> None:
        """After a create: the new row's id is the highest, so only tail pages change."""
        await self._bump((LIST_TAIL_KEY,), None)

    async def invalidate_lists(self) -> None:
        """Retire every cached list page (no routine write needs this)."""
        await self._bump((LIST_VERSION_KEY,), None)

    async def check(self) -> Check:
        usable = await self._usable()
        detail = self.backend.name if usable else f"{self.backend.name} unreachable"
        return Check("cache", ok=usable, critical=False, detail=detail)

    async def close(self) -> None:
        if self.feed is not None:
            await self.feed.close()
        await self.backend.close()

    async def _cached_profile(
        self, key: str, version_key: str, primary: bool, load: Loader
    ) -> bytes | None:
        ttl_s = self.profile_ttl_s
        # TTL 0 switches profile caching off: no lookup round trip for nothing.
        if ttl_s <= 0 or not (self.breaker.closed or await self._usable()):
            return await load(primary)
        since = self.local.seq  # before the lookup: see LocalCache.put
        try:
            epoch, version, stored = await self.backend.get_many((EPOCH_KEY, version_key, key))
        except CacheUnavailable:
            self.breaker.failed()
            return await load(primary)
        stamp = b"%b:%b:" % (epoch or b"0", version or b"0")
        if stored is not None and stored.startswith(stamp):
            self._profile_hits.inc()
            body = stored[len(stamp) :]
            self.local.put(key, body, (version_key,), ttl_s, since)
            return body
        self._results["profile", "miss"].inc()
        if version is not None and now_ms() - int(version) < self.read_your_writes_ms:
            primary = True

        async def fill() -> bytes | None:
            value = await load(primary)
            if value is not None:
                try:
                    await self.backend.set(key, stamp + value, ttl_s)
                except CacheUnavailable:
                    self.breaker.failed()
                else:
                    self.local.put(key, value, (version_key,), ttl_s, since)
            return value

        return await self.flights.run((key, stamp, primary), fill)

    async def _cached_page(
        self, key: str, offset: int, limit: int, primary: bool, load: PageLoader
    ) -> bytes:
        since = self.local.seq
        guessed = guessed_deps(offset, limit)
        # One round trip: `lc:lt` is read even for a full page (a miss may find the page
        # became a tail), then the entry's own deps or, with no entry yet, the guess.
        try:
            read = await self.backend.get_page(EPOCH_KEY, key, (LIST_TAIL_KEY, *guessed))
        except CacheUnavailable:
            self.breaker.failed()
            return (await load(primary)).body
        epoch, stale = read.epoch or b"0", PageEntry.parse(read.entry)
        expected = tuple(stale.versions) if stale is not None else guessed
        found = read.seen
        missing = [dep for dep in expected if dep not in found]
        if missing:  # an entry the backend could not read the header of
            values = await self._read(missing)
            if values is None:
                return (await load(primary)).body
            found = {**found, **dict(zip(missing, values, strict=True))}
        seen = {dep: value or b"0" for dep, value in found.items()}
        if stale is not None and stale.is_current(epoch, seen):
            self._list_hits.inc()
            self.local.put(key, stale.body, tuple(stale.versions), self.list_ttl_s, since)
            return stale.body
        self._results["list", "miss"].inc()
        primary = primary or any(self._recent(seen[dep]) for dep in expected)

        async def fill() -> bytes:
            started_ms = now_ms()
            page = await load(primary)
            versions = await self._guard_versions(page.deps, seen, primary, started_ms)
            if versions is not None:
                try:
                    entry = PageEntry(epoch, versions, page.body)
                    await self.backend.set(key, entry.encode(), self.list_ttl_s)
                except CacheUnavailable:
                    self.breaker.failed()
                else:
                    self.local.put(key, page.body, tuple(versions), self.list_ttl_s, since)
            return page.body

        body = await self.flights.run((key, epoch, tuple(seen.items()), primary), fill)
        assert body is not None  # a page always loads, possibly empty
        return body

    async def _guard_versions(
        self,
        deps: tuple[str, ...] | None,
        seen: Mapping[str, bytes],
        primary: bool,
        started_ms: int,
    ) -> dict[str, bytes] | None:
        """The versions that guard a page loaded at `started_ms`, or None: do not cache it.

        Deps read before the load guard it as read. A dep read only now is safe only if its
        last bump is older than the load by more than the replica-lag window: a write bumped
        later may be missing from what was loaded, and its bump may be the version read now.
        """
        if deps is None:
            return None
        if not primary and any(self._recent(seen[dep]) for dep in deps if dep in seen):
            return None  # e.g. a page that turned out to be a tail, right after a create
        unseen = [dep for dep in deps if dep not in seen]
        fresh: dict[str, bytes] = {}
        if unseen:
            values = await self._read(unseen)
            if values is None:
                return None
            fresh = {dep: value or b"0" for dep, value in zip(unseen, values, strict=True)}
            if any(int(v) >= started_ms - self.read_your_writes_ms for v in fresh.values()):
                return None
        return {dep: seen.get(dep) or fresh[dep] for dep in deps}

    def _recent(self, version: bytes) -> bool:
        return now_ms() - int(version) < self.read_your_writes_ms

    async def _read(self, keys: Sequence[str]) -> list[bytes | None] | None:
        """`get_many`, or None after counting a backend failure (the caller falls through)."""
        try:
            return await self.backend.get_many(keys)
        except CacheUnavailable:
            self.breaker.failed()
            return None

    async def _bump(self, version_keys: tuple[str, ...], ttl_s: float | None) -> None:
        try:
            if not (self.breaker.closed or await self._usable()):
                self._lost_invalidation = True
                return
            try:
                await self.backend.bump(version_keys, now_ms(), ttl_s)
            except CacheUnavailable:
                self.breaker.failed()
                self._lost_invalidation = True
        finally:
            # After the bump: a reader that validated the old value before it cannot store
            # it in the L1 now (its `since` predates this invalidation).
            self.local.invalidate(version_keys)

    async def _usable(self) -> bool:
        """Healthy, or probe the backend when the breaker lets one through."""
        if self.breaker.closed:
            return True
        if not self.breaker.allows():
            return False
        try:
            if self._lost_invalidation:
                await self.backend.bump((EPOCH_KEY,), 0, None)
                self.local.flush()
            else:
                await self.backend.ping()
        except CacheUnavailable:
            self.breaker.failed()
            return False
        self.breaker.succeeded()
        self._lost_invalidation = False
        return True
