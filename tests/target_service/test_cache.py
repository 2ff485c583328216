"""ProfileCache on both backends (in-process and a real Redis) over a real SQLite store.

`GatedStore` wraps the real store so a test can hold a load open at a chosen moment
(asyncio events, no sleeps) and see how often and with which `primary` flag it was called.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest

from target_service.cache import CacheBackend, ProfileCache
from target_service.memory_cache import MemoryCacheBackend
from target_service.metrics import ServiceMetrics
from target_service.redis_cache import RedisCacheBackend, fail_fast_pool
from target_service.settings import Settings
from target_service.sqlite_store import SQLiteProfileStore
from target_service.storage import Profile
from tests.fixtures.redis_server import RedisServer
from tests.target_service.conftest import prepare


class GatedStore(SQLiteProfileStore):
    """The real SQLite store, with loads that can be held after reading the database."""

    def __init__(self, settings: Settings, metrics: ServiceMetrics) -> None:
        super().__init__(settings, metrics)
        self.loads: list[tuple[str, bool]] = []
        self.loaded = asyncio.Event()  # a held load has read the row
        self.release: asyncio.Event | None = None  # set to hold loads until released

    async def get_profile(self, profile_id: int, *, primary: bool = False) -> Profile | None:
        self.loads.append((f"profile {profile_id}", primary))
        profile = await super().get_profile(profile_id, primary=primary)
        await self._hold()
        return profile

    async def list_profiles(
        self, *, offset: int, limit: int, primary: bool = False
    ) -> list[Profile]:
        self.loads.append((f"list {offset}:{limit}", primary))
        rows = await super().list_profiles(offset=offset, limit=limit, primary=primary)
        await self._hold()
        return rows

    async def _hold(self) -> None:
        if self.release is not None:
            self.loaded.set()
            await self.release.wait()


@pytest.fixture(params=["memory", "redis"])
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[CacheBackend]:
    if request.param == "memory":
        yield MemoryCacheBackend()
        return
    redis: RedisServer = request.getfixturevalue("redis_clean")
    pool = fail_fast_pool(redis.url, 0.5)
    yield RedisCacheBackend(pool)
    await pool.aclose()


@pytest.fixture
async def store(tmp_path: Path, metrics: ServiceMetrics) -> AsyncIterator[GatedStore]:
    settings = Settings(db_url=f"sqlite:///{tmp_path / 'cache.db'}")
    await prepare(settings, 10)
    gated = GatedStore(settings, metrics)
    await gated.open()
    yield gated
    await gated.close()


@pytest.fixture
def cache(backend: CacheBackend, store: GatedStore, metrics: ServiceMetrics) -> ProfileCache:
    # read_your_writes_s=0: fills after a write may use replicas (tested separately below).
    settings = Settings(read_your_writes_s=0)
    return ProfileCache(backend, store, settings, metrics)


def cache_count(metrics: ServiceMetrics, kind: str, result: str) -> float:
    value = metrics.registry.get_sample_value(
        "loadcap_cache_requests_total", {"kind": kind, "result": result}
    )
    return value or 0.0


async def joined(cache: ProfileCache, callers: int) -> None:
    """Until `callers` readers have missed and are waiting on the in-flight load."""
    async with asyncio.timeout(5):
        while cache.flights.waiting < callers:
            await asyncio.sleep(0.001)


def bio(body: bytes | None) -> str:
    assert body is not None
    return str(msgspec.json.decode(body)["bio"])


async def test_second_read_is_a_hit_that_skips_the_database(
    cache: ProfileCache, store: GatedStore, metrics: ServiceMetrics
) -> None:
    first = await cache.profile_json(3, primary=False)
    second = await cache.profile_json(3, primary=False)
    assert first == second and first is not None
    assert store.loads == [("profile 3", False)]
    assert (cache_count(metrics, "profile", "miss"), cache_count(metrics, "profile", "hit")) == (
        1,
        1,
    )


async def test_unknown_profile_is_not_cached(cache: ProfileCache, store: GatedStore) -> None:
    assert await cache.profile_json(404, primary=False) is None
    assert await cache.profile_json(404, primary=False) is None
    assert len(store.loads) == 2


async def test_patch_invalidation_serves_the_new_row(
    cache: ProfileCache, store: GatedStore
) -> None:
    await cache.profile_json(3, primary=False)
    await store.update_profile(3, {"bio": "after"})
    await cache.invalidate_profile(3)
    assert bio(await cache.profile_json(3, primary=False)) == "after"


async def test_list_pages_are_cached_and_invalidated_by_a_write(
    cache: ProfileCache, store: GatedStore
) -> None:
    page = await cache.page_json(1, 5, primary=False)
    assert await cache.page_json(1, 5, primary=False) == page
    assert len(store.loads) == 1
    await store.update_profile(2, {"bio": "listed"})
    await cache.invalidate_lists()
    fresh = msgspec.json.decode(await cache.page_json(1, 5, primary=False))
    assert fresh["items"][1]["bio"] == "listed"
    assert len(store.loads) == 2


async def test_a_slow_reader_cannot_put_back_the_row_a_writer_replaced(
    cache: ProfileCache, store: GatedStore
) -> None:
    # The stale-set race: the reader loads the old row, the writer commits and invalidates,
    # then the reader stores what it loaded. The next read must still see the new row.
    store.release = asyncio.Event()
    reader = asyncio.create_task(cache.profile_json(4, primary=False))
    await store.loaded.wait()
    await store.update_profile(4, {"bio": "new"})
    await cache.invalidate_profile(4)
    store.release.set()
    store.release = None
    assert bio(await reader) != "new"  # the reader answers with what it read, fine
    assert bio(await cache.profile_json(4, primary=False)) == "new"


async def test_a_slow_list_reader_cannot_put_back_an_old_page(
    cache: ProfileCache, store: GatedStore
) -> None:
    store.release = asyncio.Event()
    reader = asyncio.create_task(cache.page_json(1, 3, primary=False))
    await store.loaded.wait()
    await store.update_profile(1, {"bio": "new"})
    await cache.invalidate_lists()
    store.release.set()
    store.release = None
    await reader
    page = msgspec.json.decode(await cache.page_json(1, 3, primary=False))
    assert page["items"][0]["bio"] == "new"


async def test_concurrent_misses_on_one_key_load_once(
    cache: ProfileCache, store: GatedStore
) -> None:
    store.release = asyncio.Event()
    readers = [asyncio.create_task(cache.profile_json(6, primary=False)) for _ in range(20)]
    await store.loaded.wait()
    await joined(cache, len(readers))
    assert len(cache.flights) == 1
    store.release.set()
    bodies = await asyncio.gather(*readers)
    assert len(set(bodies)) == 1 and bodies[0] is not None
    assert store.loads == [("profile 6", False)]


async def test_a_cancelled_first_reader_does_not_fail_the_others(
    cache: ProfileCache, store: GatedStore
) -> None:
    store.release = asyncio.Event()
    first = asyncio.create_task(cache.profile_json(7, primary=False))
    await store.loaded.wait()
    second = asyncio.create_task(cache.profile_json(7, primary=False))
    await joined(cache, 2)
    first.cancel()
    store.release.set()
    assert bio(await second)
    assert len(store.loads) == 1


async def test_fills_soon_after_a_write_read_from_the_primary(
    backend: CacheBackend, store: GatedStore, metrics: ServiceMetrics
) -> None:
    # A lagging replica could hand the old row to a miss right after the invalidation.
    cache = ProfileCache(backend, store, Settings(read_your_writes_s=30), metrics)
    await cache.profile_json(8, primary=False)
    await cache.invalidate_profile(8)
    await cache.profile_json(8, primary=False)
    await cache.invalidate_lists()
    await cache.page_json(1, 2, primary=False)
    assert store.loads == [("profile 8", False), ("profile 8", True), ("list 0:3", True)]


async def test_in_process_backend_is_bounded() -> None:
    backend = MemoryCacheBackend(max_entries=3)
    for n in range(10):
        await backend.set(f"k{n}", b"v", 60)
    assert len(backend) == 3
    assert await backend.get_many(["k0", "k9"]) == [None, b"v"]


async def test_ttl_zero_switches_caching_off(
    backend: CacheBackend, store: GatedStore, metrics: ServiceMetrics
) -> None:
    cache = ProfileCache(backend, store, Settings(profile_ttl_s=0, list_ttl_s=0), metrics)
    for _ in range(2):
        await cache.profile_json(2, primary=False)
        await cache.page_json(1, 2, primary=False)
    assert len(store.loads) == 4
    assert cache_count(metrics, "profile", "miss") == cache_count(metrics, "list", "miss") == 0
