"""Targeted list-page invalidation: a patch misses only the pages showing it, a create only
the tail pages; on both backends (in-process and a real Redis) over a real SQLite store.

300 seeded profiles: with `limit=50`, pages 1-5 are full (`has_more` true) and page 6
(ids 251-300) is the tail; with `limit=40`, page 8 (ids 281-300) is a partial tail.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import msgspec
import pytest

from target_service.cache import (
    CacheBackend,
    CacheUnavailable,
    InvalidationFeed,
    PageRead,
    ProfileCache,
)
from target_service.local_cache import LocalCache
from target_service.memory_cache import MemoryCacheBackend
from target_service.metrics import ServiceMetrics
from target_service.redis_cache import RedisCacheBackend, fail_fast_pool
from target_service.settings import Settings
from tests.fixtures.redis_server import RedisServer
from tests.target_service.conftest import SEEDED, ApiUnderTest, prepare
from tests.target_service.test_cache import GatedStore, cache_count

PROFILES = 300


class CountingBackend:
    """The real backend, counting its read round trips; it can fail one of them on purpose."""

    def __init__(self, inner: CacheBackend) -> None:
        self.inner = inner
        self.name = inner.name
        self.reads = 0
        self.failing_read: int | None = None  # this read (1-based) raises CacheUnavailable

    def _count(self) -> None:
        self.reads += 1
        if self.reads == self.failing_read:
            raise CacheUnavailable("injected")

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        self._count()
        return await self.inner.get_many(keys)

    async def get_page(self, epoch_key: str, key: str, deps: Sequence[str]) -> PageRead:
        self._count()
        return await self.inner.get_page(epoch_key, key, deps)

    async def set(self, key: str, value: bytes, ttl_s: float) -> None:
        await self.inner.set(key, value, ttl_s)

    async def bump(self, keys: Sequence[str], at_least: int, ttl_s: float | None) -> None:
        await self.inner.bump(keys, at_least, ttl_s)

    def invalidation_feed(self, local: LocalCache) -> InvalidationFeed | None:
        return self.inner.invalidation_feed(local)

    async def ping(self) -> None:
        await self.inner.ping()

    async def close(self) -> None:
        await self.inner.close()


@pytest.fixture(params=["memory", "redis"])
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[CountingBackend]:
    if request.param == "memory":
        yield CountingBackend(MemoryCacheBackend())
        return
    redis: RedisServer = request.getfixturevalue("redis_clean")
    pool = fail_fast_pool(redis.url, 0.5)
    yield CountingBackend(RedisCacheBackend(pool))
    await pool.aclose()


async def open_store(
    tmp_path: Path, metrics: ServiceMetrics, *renumber: str
) -> AsyncIterator[GatedStore]:
    settings = Settings(db_url=f"sqlite:///{tmp_path / 'lists.db'}")
    await prepare(settings, PROFILES)
    with sqlite3.connect(tmp_path / "lists.db") as db:
        for statement in renumber:
            db.execute(statement)
    gated = GatedStore(settings, metrics)
    await gated.open()
    yield gated
    await gated.close()


@pytest.fixture
async def store(tmp_path: Path, metrics: ServiceMetrics) -> AsyncIterator[GatedStore]:
    async for gated in open_store(tmp_path, metrics):
        yield gated


@pytest.fixture
async def sparse_store(tmp_path: Path, metrics: ServiceMetrics) -> AsyncIterator[GatedStore]:
    # Ids 201-290 become 1201-1290 (page 5 of 50 lies off the dense-id guess, on buckets
    # 60-62); 291-300 become 129100-130000 (page 6 spans far more than 8 buckets).
    async for gated in open_store(
        tmp_path,
        metrics,
        "UPDATE profiles SET id = id + 1000 WHERE id BETWEEN 201 AND 290",
        "UPDATE profiles SET id = id * 100 + 100000 WHERE id BETWEEN 291 AND 300",
    ):
        yield gated


def list_cache(backend: CacheBackend, store: GatedStore, metrics: ServiceMetrics) -> ProfileCache:
    # read_your_writes_s=0: fills after a write may use replicas (tested separately below).
    # No L1: these tests watch the shared cache's own lookups (the L1 is tested below).
    settings = Settings(read_your_writes_s=0, local_cache_entries=0)
    return ProfileCache(backend, store, settings, metrics)


@pytest.fixture
def cache(backend: CountingBackend, store: GatedStore, metrics: ServiceMetrics) -> ProfileCache:
    return list_cache(backend, store, metrics)


def decoded(body: bytes) -> dict[str, Any]:
    page: dict[str, Any] = msgspec.json.decode(body)
    return page


def ids(body: bytes) -> list[int]:
    return [item["id"] for item in decoded(body)["items"]]


def bio_of(body: bytes, profile_id: int) -> str:
    (item,) = (item for item in decoded(body)["items"] if item["id"] == profile_id)
    return str(item["bio"])


async def create(store: GatedStore, cache: ProfileCache, name: str) -> int:
    """What POST /api/profiles does: commit, then invalidate."""
    profile = await store.create_profile({"name": name, "email": f"{name}@x.test", "bio": ""})
    await cache.invalidate_list_tail()
    return profile["id"]


async def patch(store: GatedStore, cache: ProfileCache, profile_id: int, bio: str) -> None:
    """What PATCH /api/profile/{id} does: commit, then invalidate."""
    await store.update_profile(profile_id, {"bio": bio})
    await cache.invalidate_profile(profile_id)


async def test_a_patch_misses_only_the_pages_that_show_the_profile(
    cache: ProfileCache, store: GatedStore, metrics: ServiceMetrics
) -> None:
    await cache.page_json(1, 50, primary=False)
    page5 = await cache.page_json(5, 50, primary=False)
    await patch(store, cache, 3, "patched")
    assert await cache.page_json(5, 50, primary=False) == page5
    assert bio_of(await cache.page_json(1, 50, primary=False), 3) == "patched"
    assert store.loads == [("list 0:51", False), ("list 200:51", False), ("list 0:51", False)]
    assert (cache_count(metrics, "list", "hit"), cache_count(metrics, "list", "miss")) == (1, 3)


async def test_a_create_misses_only_the_tail_pages(cache: ProfileCache, store: GatedStore) -> None:
    full = await cache.page_json(5, 50, primary=False)
    tail = decoded(await cache.page_json(6, 50, primary=False))
    partial = decoded(await cache.page_json(8, 40, primary=False))
    assert (tail["has_more"], partial["has_more"], len(partial["items"])) == (False, False, 20)
    new_id = await create(store, cache, "appended")
    assert await cache.page_json(5, 50, primary=False) == full
    now_full = decoded(await cache.page_json(6, 50, primary=False))
    assert now_full["has_more"] is True and now_full["items"] == tail["items"]
    assert ids(await cache.page_json(8, 40, primary=False)) == [*range(281, 301), new_id]
    assert [load for load, _ in store.loads] == [
        *("list 200:51", "list 250:51", "list 280:41"),  # the first reads
        *("list 250:51", "list 280:41"),  # the two tail pages, after the create
    ]


async def test_a_list_hit_costs_one_round_trip(
    cache: ProfileCache, backend: CountingBackend
) -> None:
    page = await cache.page_json(2, 50, primary=False)
    before = backend.reads
    assert await cache.page_json(2, 50, primary=False) == page
    assert backend.reads - before == 1


async def test_a_patch_costs_one_redis_round_trip(
    redis_clean: RedisServer, store: GatedStore, metrics: ServiceMetrics
) -> None:
    # One script bumps the profile's version and its list bucket (and publishes both).
    pool = fail_fast_pool(redis_clean.url, 0.5)
    cache = list_cache(RedisCacheBackend(pool), store, metrics)
    try:
        await cache.invalidate_profile(41)  # the script is loaded into Redis once
        with redis_clean.client() as client:
            client.config_resetstat()
            await cache.invalidate_profile(42)
            calls = client.info("commandstats")
            versions = client.mget(["lc:pv:42", "lc:lb:2"])
    finally:
        await pool.aclose()
    assert calls["cmdstat_evalsha"]["calls"] == 1 and "cmdstat_eval" not in calls
    assert all(versions)


async def test_a_cache_failure_on_the_hit_read_answers_from_the_database(
    cache: ProfileCache, backend: CountingBackend, store: GatedStore, metrics: ServiceMetrics
) -> None:
    page = await cache.page_json(2, 50, primary=False)
    backend.failing_read = backend.reads + 1  # the lookup of the next hit
    assert await cache.page_json(2, 50, primary=False) == page
    assert len(store.loads) == 2 and not cache.healthy
    assert metrics.registry.get_sample_value("loadcap_cache_errors_total") == 1
    assert cache_count(metrics, "list", "hit") == 0


@pytest.mark.parametrize("stale_entry", [False, True], ids=["cold", "stale"])
async def test_a_page_load_racing_a_patch_of_its_rows_does_not_stay_cached(
    cache: ProfileCache, store: GatedStore, stale_entry: bool
) -> None:
    if stale_entry:  # the miss then predicts its deps from the entry's header
        await cache.page_json(1, 50, primary=False)
        await cache.invalidate_lists()
    store.release = asyncio.Event()
    reader = asyncio.create_task(cache.page_json(1, 50, primary=False))
    await store.loaded.wait()
    await patch(store, cache, 10, "racing")
    store.release.set()
    store.release = None
    assert bio_of(await reader, 10) != "racing"  # the reader answers with what it read
    assert bio_of(await cache.page_json(1, 50, primary=False), 10) == "racing"


@pytest.mark.parametrize("stale_entry", [False, True], ids=["cold", "stale"])
async def test_a_tail_page_load_racing_a_create_does_not_stay_cached(
    cache: ProfileCache, store: GatedStore, stale_entry: bool
) -> None:
    if stale_entry:
        await cache.page_json(8, 40, primary=False)
        await cache.invalidate_lists()
    store.release = asyncio.Event()
    reader = asyncio.create_task(cache.page_json(8, 40, primary=False))
    await store.loaded.wait()
    new_id = await create(store, cache, "racing")
    store.release.set()
    store.release = None
    assert new_id not in ids(await reader)
    assert ids(await cache.page_json(8, 40, primary=False))[-1] == new_id


async def test_a_page_off_the_dense_id_guess_is_cached_and_invalidated(
    backend: CountingBackend, sparse_store: GatedStore, metrics: ServiceMetrics
) -> None:
    cache = list_cache(backend, sparse_store, metrics)
    page = await cache.page_json(5, 50, primary=False)
    assert ids(page) == list(range(1201, 1251))
    assert await cache.page_json(5, 50, primary=False) == page
    await patch(sparse_store, cache, 1230, "patched")
    assert bio_of(await cache.page_json(5, 50, primary=False), 1230) == "patched"
    assert len(sparse_store.loads) == 2


async def test_a_cold_load_off_the_guess_racing_a_patch_does_not_stay_cached(
    backend: CountingBackend, sparse_store: GatedStore, metrics: ServiceMetrics
) -> None:
    # Bucket 61 (ids 1221-1240) is not predicted for offset 200, so it is read only after
    # the load: it must not be trusted when it moved since the load began.
    cache = list_cache(backend, sparse_store, metrics)
    sparse_store.release = asyncio.Event()
    reader = asyncio.create_task(cache.page_json(5, 50, primary=False))
    await sparse_store.loaded.wait()
    await patch(sparse_store, cache, 1230, "racing")
    sparse_store.release.set()
    sparse_store.release = None
    assert bio_of(await reader, 1230) != "racing"
    assert bio_of(await cache.page_json(5, 50, primary=False), 1230) == "racing"


async def test_a_page_over_too_many_buckets_is_not_cached(
    backend: CountingBackend, sparse_store: GatedStore, metrics: ServiceMetrics
) -> None:
    cache = list_cache(backend, sparse_store, metrics)
    for _ in range(2):
        assert ids(await cache.page_json(6, 50, primary=False))[-1] == 130_000
    assert len(sparse_store.loads) == 2


async def test_list_fills_soon_after_a_write_read_from_the_primary(
    backend: CountingBackend, store: GatedStore, metrics: ServiceMetrics
) -> None:
    settings = Settings(read_your_writes_s=30, local_cache_entries=0)
    cache = ProfileCache(backend, store, settings, metrics)
    await cache.page_json(1, 50, primary=False)
    await cache.page_json(5, 50, primary=False)
    await cache.page_json(6, 50, primary=False)
    await cache.invalidate_profile(3)
    await cache.invalidate_list_tail()
    for page in (1, 5, 6):  # 5 is still cached
        await cache.page_json(page, 50, primary=False)
    assert store.loads[3:] == [("list 0:51", True), ("list 250:51", True)]


async def test_a_cold_tail_page_loaded_from_a_replica_right_after_a_create_is_not_cached(
    backend: CountingBackend, store: GatedStore, metrics: ServiceMetrics
) -> None:
    # Without an entry the miss cannot know the page is a tail, so it does not choose the
    # primary; the replica may lack the new row, so the page must not be stored.
    cache = ProfileCache(backend, store, Settings(read_your_writes_s=30), metrics)
    await cache.invalidate_list_tail()
    for _ in range(2):
        await cache.page_json(6, 50, primary=False)
    assert store.loads == [("list 250:51", False)] * 2


async def test_writes_through_the_api_invalidate_only_what_they_change(
    api: ApiUnderTest,
) -> None:
    # Buckets hold ids 1-20 and 21-30, so with limit=10 a patch of id 3 reaches pages 1-2; a
    # create reaches only the tail, page 3.
    assert SEEDED == 30
    client, metrics = api.client, api.service.metrics
    pages = {n: (await client.get(f"/api/profiles?page={n}&limit=10")).json() for n in (1, 2, 3)}
    created = await client.post("/api/profiles", json={"name": "New", "email": "new@x.test"})
    assert created.status_code == 201
    assert (await client.get("/api/profiles?page=2&limit=10")).json() == pages[2]
    assert cache_count(metrics, "list", "hit") == 1
    page3 = (await client.get("/api/profiles?page=3&limit=10")).json()
    assert page3["has_more"] is True and page3["items"] == pages[3]["items"]
    page4 = (await client.get("/api/profiles?page=4&limit=10")).json()
    assert [item["id"] for item in page4["items"]] == [created.json()["id"]]
    assert (await client.patch("/api/profile/3", json={"bio": "patched"})).status_code == 200
    page1 = (await client.get("/api/profiles?page=1&limit=10")).json()
    assert page1["items"][2]["bio"] == "patched"
    assert cache_count(metrics, "list", "hit") == 1


@pytest.mark.parametrize("foreign", [b"garbage", b"0:lv=abc:{}", b"0:nodeps"])
async def test_an_entry_this_code_did_not_write_is_a_miss_then_replaced(
    cache: ProfileCache, backend: CountingBackend, store: GatedStore, foreign: bytes
) -> None:
    await backend.set("lc:l:0:5", foreign, 60)
    first = await cache.page_json(1, 5, primary=False)
    assert ids(first) == [1, 2, 3, 4, 5]
    assert await cache.page_json(1, 5, primary=False) == first
    assert len(store.loads) == 1  # the second read was a hit on the replaced entry
