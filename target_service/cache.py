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

List pages are invalidated by what can change them, not by every write. Pages are ordered by
id ascending with offset paging and profiles are never deleted, so:
- a create appends a row with an id above every existing one: it can only change a *tail*
  page (`has_more` false, including an empty page past the end); a page with `has_more` true
  keeps its rows and its `has_more`. Creates bump `lc:lt`, and only tail pages depend on it;
- a patch of id X changes only pages that show X. Patches bump the bucket `lc:lb:{X // 100}`,
  and a page depends on the buckets from its first id to its last, so on every bucket that
  holds one of its ids. A page spanning more than `MAX_PAGE_BUCKETS` buckets (sparse ids) is
  simply not cached: rare, and always correct;
- every page also depends on `lc:lv`, which no routine write bumps (`invalidate_lists` is
  there to retire every page at once).
A page entry is `<epoch>:<dep>=<version>,...:<body>` (a dep is its key without `lc:` and with
`.` for `:`, e.g. `lb.3`). A hit costs two round trips: epoch and entry, then its deps. A
miss reads the deps it predicts before loading: the stale entry's, or, without one, the buckets a
dense id range would put at that offset, and `lc:lt` always. Deps the loaded page turns out to
have that were not read before the load are read after it, and the page is not cached if any
was bumped since `read_your_writes_s` before the load began (the write might be missing from
what was loaded); nor is it if a pre-read dep that did not choose the primary (`lc:lt` for a
page not known to be a tail) was bumped within that window and the page came from a replica.

One known window: MySQL allocates auto-increment ids before commit, so two concurrent creates
can commit out of id order. A page load between the two commits can see the higher id as the
last row of a full page; when the lower id commits it shifts that row to the next page, but
the page has `has_more` true and does not depend on `lc:lt`, so it may show the shifted row
(and miss the lower one) until its TTL (`list_ttl_s`) expires. SQLite commits one writer at a
time, in id order, so it does not have this window.

The cache never takes the service down: on a backend error it counts `cache_errors`, answers
from the database and stops using the backend for `RETRY_S` (one probe per interval after
that), so an outage costs a failed connection per second, not one per request.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import msgspec

from target_service.metrics import ServiceMetrics
from target_service.settings import Settings
from target_service.storage import Check, Profile, ProfileStore

EPOCH_KEY = "lc:epoch"
LIST_VERSION_KEY = "lc:lv"  # every page; bumped only by `invalidate_lists`
LIST_TAIL_KEY = "lc:lt"  # pages without `has_more`; bumped by every create
LIST_BUCKET = 100  # ids per bucket version `lc:lb:{id // LIST_BUCKET}`, bumped by a patch
# A page over more buckets than this (sparse ids) is not cached: its hit check would read
# too many keys, and dense ids (the normal case) put a page of <= 100 rows on <= 2 buckets.
MAX_PAGE_BUCKETS = 8
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


def bucket_key(profile_id: int) -> str:
    return f"lc:lb:{profile_id // LIST_BUCKET}"


def _bucket_keys(first_id: int, last_id: int) -> list[str]:
    first, last = first_id // LIST_BUCKET, last_id // LIST_BUCKET
    return [f"lc:lb:{bucket}" for bucket in range(first, last + 1)]


def page_deps(items: Sequence[Profile], has_more: bool) -> tuple[str, ...] | None:
    """The version keys a loaded page depends on; None when it spans too many buckets."""
    deps = [LIST_VERSION_KEY] if has_more else [LIST_VERSION_KEY, LIST_TAIL_KEY]
    if items:
        buckets = _bucket_keys(items[0]["id"], items[-1]["id"])
        if len(buckets) > MAX_PAGE_BUCKETS:
            return None
        deps.extend(buckets)
    return tuple(deps)


def guessed_deps(offset: int, limit: int) -> tuple[str, ...]:
    """The deps of the page at `offset` if ids are dense from 1 (seeded, never deleted)."""
    buckets = _bucket_keys(offset + 1, offset + limit)[:MAX_PAGE_BUCKETS]
    return (LIST_VERSION_KEY, *buckets)


@dataclass(frozen=True, slots=True)
class PageEntry:
    """A cached list page: the epoch and dep versions it was stored under, and its body."""

    epoch: bytes
    versions: Mapping[str, bytes]
    body: bytes

    def encode(self) -> bytes:
        header = b",".join(
            b"%b=%b" % (key.removeprefix("lc:").replace(":", ".").encode(), version)
            for key, version in self.versions.items()
        )
        return b"%b:%b:%b" % (self.epoch, header, self.body)

    def is_current(self, epoch: bytes, seen: Mapping[str, bytes]) -> bool:
        return self.epoch == epoch and all(seen[k] == v for k, v in self.versions.items())

    @classmethod
    def parse(cls, stored: bytes | None) -> PageEntry | None:
        """None for no entry or one this code did not write (then it is just a miss)."""
        if stored is None:
            return None
        epoch, _, rest = stored.partition(b":")
        header, found, body = rest.partition(b":")
        versions: dict[str, bytes] = {}
        for dep in header.split(b","):
            token, equals, version = dep.partition(b"=")
            if not (found and equals and version.isdigit()):
                return None
            versions["lc:" + token.decode("ascii", "replace").replace(".", ":")] = version
        return cls(epoch, versions, body)


@dataclass(frozen=True, slots=True)
class LoadedPage:
    body: bytes
    deps: tuple[str, ...] | None  # None: do not cache (see `page_deps`)


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
        return await self._cached_profile(key, f"lc:pv:{profile_id}", primary, load)

    async def page_json(self, page: int, limit: int, *, primary: bool) -> bytes:
        offset = (page - 1) * limit

        async def load(use_primary: bool) -> LoadedPage:
            # One extra row says whether another page exists, without a COUNT(*).
            rows = await self.store.list_profiles(
                offset=offset, limit=limit + 1, primary=use_primary
            )
            items, has_more = rows[:limit], len(rows) > limit
            body = {"items": items, "page": page, "limit": limit, "has_more": has_more}
            return LoadedPage(msgspec.json.encode(body), page_deps(items, has_more))

        # TTL 0 switches list caching off: no lookup round trip for nothing.
        if self.list_ttl_s <= 0 or not (self.healthy or await self._usable()):
            return (await load(primary)).body
        key = f"lc:l:{offset}:{limit}"
        return await self._cached_page(key, guessed_deps(offset, limit), primary, load)

    async def invalidate_profile(self, profile_id: int) -> None:
        """After a patch: the profile's entry and every list page that shows it."""
        await self._bump(f"lc:pv:{profile_id}", VERSION_TTL_S)
        await self._bump(bucket_key(profile_id), VERSION_TTL_S)

    async def invalidate_list_tail(self) -> None:
        """After a create: the new row's id is the highest, so only tail pages change."""
        await self._bump(LIST_TAIL_KEY, None)

    async def invalidate_lists(self) -> None:
        """Retire every cached list page (no routine write needs this)."""
        await self._bump(LIST_VERSION_KEY, None)

    async def check(self) -> Check:
        usable = await self._usable()
        detail = self.backend.name if usable else f"{self.backend.name} unreachable"
        return Check("cache", ok=usable, critical=False, detail=detail)

    async def close(self) -> None:
        await self.backend.close()

    async def _cached_profile(
        self, key: str, version_key: str, primary: bool, load: Loader
    ) -> bytes | None:
        ttl_s = self.profile_ttl_s
        # TTL 0 switches profile caching off: no lookup round trip for nothing.
        if ttl_s <= 0 or not (self.healthy or await self._usable()):
            return await load(primary)
        try:
            epoch, version, stored = await self.backend.get_many((EPOCH_KEY, version_key, key))
        except CacheUnavailable:
            self._failed()
            return await load(primary)
        stamp = b"%b:%b:" % (epoch or b"0", version or b"0")
        if stored is not None and stored.startswith(stamp):
            self._results["profile", "hit"].inc()
            return stored[len(stamp) :]
        self._results["profile", "miss"].inc()
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

    async def _cached_page(
        self, key: str, guess: tuple[str, ...], primary: bool, load: PageLoader
    ) -> bytes:
        found = await self._read((EPOCH_KEY, key))
        if found is None:
            return (await load(primary)).body
        epoch, stale = found[0] or b"0", PageEntry.parse(found[1])
        expected = tuple(stale.versions) if stale is not None else guess
        # `lc:lt` is read even for a full page: a miss may find the page became a tail.
        watched = sorted({LIST_TAIL_KEY, *expected})
        values = await self._read(watched)
        if values is None:
            return (await load(primary)).body
        seen = {dep: value or b"0" for dep, value in zip(watched, values, strict=True)}
        if stale is not None and stale.is_current(epoch, seen):
            self._results["list", "hit"].inc()
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
                    self._failed()
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
            self._failed()
            return None

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
