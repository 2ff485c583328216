"""The in-process L1 in front of Redis: two cache instances (two app instances' worth: own
pools, own L1, own invalidation feed) on one real throwaway Redis and one SQLite database.

A write on one instance must stop being hidden by the other's L1 within `WINDOW_S`, and a
Redis outage must never leave an L1 serving what the database no longer holds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import aclosing
from pathlib import Path

import msgspec
import pytest

from target_service.cache import ProfileCache
from target_service.invalidation_feed import CLOSE_TIMEOUT_S, WINDOW_S
from target_service.local_cache import LocalCache
from target_service.metrics import ServiceMetrics
from target_service.redis_cache import RedisCacheBackend, fail_fast_pool
from target_service.settings import Settings
from target_service.sqlite_store import SQLiteProfileStore
from tests.fixtures.redis_server import RedisServer
from tests.target_service.conftest import prepare, running_api

PROFILES = 60


class CountingRedis(RedisCacheBackend):
    """The real Redis backend, counting lookups that reach Redis."""

    lookups = 0

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        self.lookups += 1
        return await super().get_many(keys)


class Instance:
    def __init__(self, redis_url: str, db_path: Path) -> None:
        settings = Settings(db_url=f"sqlite:///{db_path}", read_your_writes_s=0)
        self.metrics = ServiceMetrics()
        self.pool = fail_fast_pool(redis_url, 0.2)
        self.backend = CountingRedis(self.pool)
        self.store = SQLiteProfileStore(settings, self.metrics)
        self.cache = ProfileCache(self.backend, self.store, settings, self.metrics)

    async def bio(self, profile_id: int, *, primary: bool = False) -> str:
        body = await self.cache.profile_json(profile_id, primary=primary)
        assert body is not None
        return str(msgspec.json.decode(body)["bio"])

    async def page_ids_and_bios(self, page: int) -> dict[int, str]:
        body = msgspec.json.decode(await self.cache.page_json(page, 20, primary=False))
        return {item["id"]: item["bio"] for item in body["items"]}

    async def patch(self, profile_id: int, bio: str) -> None:
        """What PATCH does: commit, then invalidate."""
        await self.store.update_profile(profile_id, {"bio": bio})
        await self.cache.invalidate_profile(profile_id)

    async def until_l1_usable(self) -> None:
        async with asyncio.timeout(10):
            while not self.cache.local.usable:
                await asyncio.sleep(0.01)


@pytest.fixture
async def instances(redis_clean: RedisServer, tmp_path: Path) -> AsyncIterator[list[Instance]]:
    db_path = tmp_path / "l1.db"
    await prepare(Settings(db_url=f"sqlite:///{db_path}"), PROFILES)
    pair = [Instance(redis_clean.url, db_path), Instance(redis_clean.url, db_path)]
    for instance in pair:
        await instance.store.open()
        await instance.cache.profile_json(1, primary=False)  # starts the feed
        await instance.until_l1_usable()
    yield pair
    for instance in pair:
        await instance.cache.close()
        await instance.store.close()
        await instance.pool.aclose()


async def fresh_within_window(read: object, expected: object) -> float:
    """Poll `read()` until it returns `expected`; the seconds that took (fails past 5 s)."""
    started = time.monotonic()
    async with asyncio.timeout(5):
        while await read() != expected:  # type: ignore[operator]
            await asyncio.sleep(0.005)
    return time.monotonic() - started


async def test_a_hot_hit_is_served_from_the_l1_without_a_round_trip(
    instances: list[Instance],
) -> None:
    _, b = instances
    await b.bio(7)
    before = b.backend.lookups
    hits = {"kind": "profile", "result": "hit"}
    hits_before = b.metrics.registry.get_sample_value("loadcap_cache_requests_total", hits)
    for _ in range(5):
        await b.bio(7)
    assert b.backend.lookups == before
    hits_after = b.metrics.registry.get_sample_value("loadcap_cache_requests_total", hits)
    assert hits_after == (hits_before or 0) + 5  # L1 hits count as cache hits
    local = b.metrics.registry.get_sample_value(
        "loadcap_local_cache_hits_total", {"kind": "profile"}
    )
    assert (local or 0) >= 5  # and the L1's own counter says which they were


async def test_a_patch_on_one_instance_reaches_the_others_l1_within_the_window(
    instances: list[Instance],
) -> None:
    a, b = instances
    assert await b.bio(8) == await b.bio(8)  # the second read is an L1 hit on b
    assert "lc:p:8" in b.cache.local._entries
    await a.patch(8, "patched on a")
    seconds = await fresh_within_window(lambda: b.bio(8), "patched on a")
    assert seconds <= WINDOW_S
    assert await a.bio(8) == "patched on a"  # the writer's own L1 at once


async def test_a_patch_on_one_instance_reaches_the_list_pages_in_the_others_l1(
    instances: list[Instance],
) -> None:
    a, b = instances
    await b.page_ids_and_bios(1)
    await b.page_ids_and_bios(2)
    assert {"lc:l:0:20", "lc:l:20:20"} <= b.cache.local._entries.keys()
    await a.patch(15, "listed on a")

    async def page_one_bio() -> str:
        return (await b.page_ids_and_bios(1))[15]

    assert await fresh_within_window(page_one_bio, "listed on a") <= WINDOW_S
    assert "lc:l:20:20" in b.cache.local._entries  # page 2 does not show id 15: still hot


async def test_a_create_on_one_instance_reaches_the_others_tail_page(
    instances: list[Instance],
) -> None:
    a, b = instances

    async def tail_has_more() -> bool:
        page = msgspec.json.decode(await b.cache.page_json(3, 20, primary=False))
        return bool(page["has_more"])

    assert not await tail_has_more()  # ids 41-60: the tail
    assert not await tail_has_more()  # now from b's L1
    await a.store.create_profile({"name": "New", "email": "new@x.test", "bio": "n"})
    await a.cache.invalidate_list_tail()
    assert await fresh_within_window(tail_has_more, True) <= WINDOW_S


async def test_a_client_that_wrote_recently_skips_the_l1(instances: list[Instance]) -> None:
    a, b = instances
    await b.bio(9)
    await b.bio(9)
    before = b.backend.lookups
    await a.patch(9, "mine")
    # Read-your-writes: even before b's feed delivers, the writer's next read on b is fresh.
    assert await b.bio(9, primary=True) == "mine"
    assert b.backend.lookups == before + 1


async def test_redis_stopped_while_the_l1_holds_entries_serves_the_database(
    instances: list[Instance], redis_clean: RedisServer
) -> None:
    a, b = instances
    await b.bio(10)
    await b.bio(10)
    assert len(b.cache.local) > 0
    redis_clean.stop()
    await a.store.update_profile(10, {"bio": "written during the outage"})
    await a.cache.invalidate_profile(10)  # lost: Redis is down
    # b's L1 must not hide the write: its feed loses Redis (flush), and without a PONG the
    # L1 is bypassed after WINDOW_S at the latest; then b falls through to the database.
    seconds = await fresh_within_window(lambda: b.bio(10), "written during the outage")
    assert seconds <= WINDOW_S + 0.5
    assert not b.cache.local.usable

    redis_clean.start()
    await b.until_l1_usable()
    await b.bio(11)
    before = b.backend.lookups
    await b.bio(11)
    assert b.backend.lookups == before  # the L1 serves again once the feed is back


async def test_a_frozen_redis_stops_the_l1_within_the_window(
    instances: list[Instance], redis_clean: RedisServer
) -> None:
    _, b = instances
    await b.bio(12)
    redis_clean.pause()
    try:
        started = time.monotonic()
        async with asyncio.timeout(5):
            while b.cache.local.usable:
                await asyncio.sleep(0.005)
        assert time.monotonic() - started <= WINDOW_S + 0.05
    finally:
        redis_clean.resume()
    await b.until_l1_usable()


def test_an_entry_validated_before_an_invalidation_is_not_stored_after_it() -> None:
    local = LocalCache(10)
    since = local.seq  # a lookup starts
    local.invalidate(["lc:pv:1"])  # a write lands while it runs
    local.put("lc:p:1", b"old", ("lc:pv:1",), 60, since)
    assert local.get("lc:p:1") is None
    local.put("lc:p:2", b"other", ("lc:pv:2",), 60, since)  # another key is unaffected
    assert local.get("lc:p:2") == b"other"


def test_a_flush_refuses_lookups_that_began_before_it() -> None:
    local = LocalCache(10)
    since = local.seq
    local.flush()
    local.put("lc:p:1", b"old", ("lc:pv:1",), 60, since)
    assert len(local) == 0


def test_the_l1_is_bounded_and_invalidates_by_dependency() -> None:
    local = LocalCache(3)
    for n in range(5):
        local.put(f"lc:l:{n}", b"page", ("lc:lv", f"lc:lb:{n}"), 60, local.seq)
    assert len(local) == 3 and local.get("lc:l:0") is None
    local.invalidate(["lc:lb:4"])
    assert local.get("lc:l:4") is None and local.get("lc:l:3") == b"page"
    local.invalidate(["lc:lv"])
    assert len(local) == 0


def test_the_l1_is_unusable_until_its_feed_confirms() -> None:
    local = LocalCache(10, window_s=0.5)
    local.put("k", b"v", ("d",), 60, local.seq)
    assert local.get("k") is None
    local.confirmed_at = time.monotonic()
    assert local.get("k") == b"v"


async def test_two_app_instances_behind_one_redis_agree_within_the_window(
    redis_clean: RedisServer, tmp_path: Path
) -> None:
    # The whole service twice (as behind a load balancer), clients without cookies: a PATCH
    # through one instance is what the other answers within the window.
    settings = Settings(
        db_url=f"sqlite:///{tmp_path / 'apps.db'}", redis_url=redis_clean.url, rate_limit=None
    )
    await prepare(settings, PROFILES)
    async with aclosing(running_api(settings)) as first, aclosing(running_api(settings)) as second:
        a, b = await anext(first), await anext(second)
        for _ in range(2):
            assert (await b.client.get("/api/profile/20")).status_code == 200
        async with asyncio.timeout(10):
            while not b.service.cache.local.usable:
                await asyncio.sleep(0.01)
        assert (await b.client.get("/api/profile/20")).status_code == 200  # into b's L1
        patched = await a.client.patch("/api/profile/20", json={"bio": "via a"})
        assert patched.status_code == 200

        async def bio_on_b() -> str:
            b.client.cookies.clear()
            return str((await b.client.get("/api/profile/20")).json()["bio"])

        assert await fresh_within_window(bio_on_b, "via a") <= WINDOW_S


async def test_closing_while_redis_is_frozen_does_not_hang(
    redis_clean: RedisServer, tmp_path: Path
) -> None:
    db_path = tmp_path / "close.db"
    await prepare(Settings(db_url=f"sqlite:///{db_path}"), 5)
    instance = Instance(redis_clean.url, db_path)
    await instance.store.open()
    await instance.cache.profile_json(1, primary=False)
    await instance.until_l1_usable()
    redis_clean.pause()
    try:
        started = time.monotonic()
        await instance.cache.close()
        assert time.monotonic() - started < CLOSE_TIMEOUT_S + 1.0
    finally:
        redis_clean.resume()
        await instance.store.close()
        await instance.pool.aclose()
