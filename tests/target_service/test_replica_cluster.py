"""The seed's database tier on real processes: a MariaDB master and three GTID replicas.

Least-busy routing across the three, a stopped replica's share carried by the others until it
rejoins, causal reads by GTID (a delayed replica never answers a read it cannot answer
consistently) and the replica share of reads a cookie-keeping client gets.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator

import httpx
import pytest

from target_service.gtid import GtidPosition, recording, requiring
from target_service.metrics import ServiceMetrics
from target_service.mysql_store import MySQLProfileStore
from target_service.read_your_writes import COOKIE_NAME, HEADER_NAME
from target_service.settings import Settings
from target_service.storage import NewProfile
from tests.fixtures.mariadb_server import MariaDBCluster
from tests.fixtures.redis_server import RedisServer
from tests.fixtures.replica_cluster import (
    NO_CACHE,
    api_on,
    cache_settings,
    cluster_settings,
    cluster_store,
    eventually,
    in_rotation,
    queries,
    sample,
    seed,
)
from tests.target_service.conftest import ApiUnderTest, client_for, running_api

REPLICAS = ("replica0", "replica1", "replica2")
PROFILE = NewProfile(name="Ada", email="ada@example.com", bio="old bio")


def reads(metrics: ServiceMetrics, pool: str) -> float:
    return queries(metrics, pool)


async def test_reads_spread_over_the_three_replicas(
    mariadb_cluster: MariaDBCluster, metrics: ServiceMetrics
) -> None:
    async with cluster_store(mariadb_cluster, metrics) as store:
        assert all(in_rotation(metrics, pool) for pool in REPLICAS)
        for _ in range(9):  # one at a time: all equally idle, so round-robin decides
            await store.list_profiles(offset=0, limit=1)
        assert sum(reads(metrics, pool) for pool in REPLICAS) == 9
        assert min(reads(metrics, pool) for pool in REPLICAS) >= 2
        before = [reads(metrics, pool) for pool in REPLICAS]

        # Concurrent reads: each goes to the replica with the fewest connections in use.
        await asyncio.gather(*(store.list_profiles(offset=0, limit=1) for _ in range(60)))
        served = [reads(metrics, pool) - n for pool, n in zip(REPLICAS, before, strict=True)]
        assert sum(served) == 60 and min(served) >= 10, served
        assert reads(metrics, "master") == 0
        # Their time is measured too (the plan's per-replica capacity comes from it).
        for pool in REPLICAS:
            assert sample(metrics, "loadcap_db_read_seconds_total", pool=pool) > 0


async def test_a_stopped_replicas_share_moves_to_the_others_and_it_rejoins(
    mariadb_cluster: MariaDBCluster, metrics: ServiceMetrics
) -> None:
    async with cluster_store(
        mariadb_cluster, metrics, replica_retry_s=0.3, replica_check_interval_s=0.1
    ) as store:
        created = await store.create_profile(PROFILE)
        mariadb_cluster.wait_synced()
        mariadb_cluster.stop_replica(1)
        for _ in range(30):
            assert await store.get_profile(created["id"]) == created
        assert not in_rotation(metrics, "replica1")
        # At most the read that found it dead went to the master; the other two took the rest.
        assert reads(metrics, "master") <= 1
        assert reads(metrics, "replica0") + reads(metrics, "replica2") >= 29
        assert reads(metrics, "replica0") >= 10 and reads(metrics, "replica2") >= 10

        mariadb_cluster.start_replica(1)
        await eventually(lambda: in_rotation(metrics, "replica1"))
        mariadb_cluster.wait_synced()
        before = reads(metrics, "replica1")
        for _ in range(9):
            assert await store.get_profile(created["id"]) == created
        # Its share again (a monitor probe holding a connection may tip one read elsewhere).
        assert reads(metrics, "replica1") - before >= 2


async def test_a_delayed_replica_takes_no_read_it_cannot_answer_consistently(
    mariadb_cluster: MariaDBCluster, metrics: ServiceMetrics
) -> None:
    async with cluster_store(
        mariadb_cluster, metrics, replica_check_interval_s=0.1, replica_max_lag_s=5.0
    ) as store:
        mariadb_cluster.set_delay(2, index=2)
        created = await store.create_profile(PROFILE)
        delayed = store.router.replicas[2]
        # Its lag (<= 2 s) is within the limit: plain reads may go there.
        await eventually(lambda: delayed.delay_s == 2 and delayed.in_rotation)
        before = reads(metrics, "replica2")
        stale = 0
        for i in range(40):
            with recording() as written:
                await store.update_profile(created["id"], {"bio": f"bio {i}"})
            assert written.position is not None
            with requiring(written.position):
                seen = await store.get_profile(created["id"])
            stale += seen is None or seen["bio"] != f"bio {i}"
        assert stale == 0
        assert reads(metrics, "replica2") == before
        # The undelayed replicas answered (after a short MASTER_GTID_WAIT at most).
        assert reads(metrics, "replica0") + reads(metrics, "replica1") >= 36


async def test_a_position_no_replica_reaches_in_time_is_read_from_the_master(
    mariadb_cluster: MariaDBCluster, metrics: ServiceMetrics
) -> None:
    async with cluster_store(mariadb_cluster, metrics, replica_check_interval_s=60.0) as store:
        created = await store.create_profile(PROFILE)
        mariadb_cluster.wait_synced()
        for index in range(3):
            mariadb_cluster.pause_replication(index)
        with recording() as written:
            await store.update_profile(created["id"], {"bio": "new"})
        assert written.position is not None
        with requiring(written.position):
            mine = await store.get_profile(created["id"])
        assert mine is not None and mine["bio"] == "new"
        assert reads(metrics, "master") == 1
        # Without a position, a replica answers (the old row: it has not applied the write).
        other = await store.get_profile(created["id"])
        assert other is not None and other["bio"] == "old bio"
        # A position that was never written anywhere cannot be met either.
        with requiring(GtidPosition({0: (1, 10**12)})):
            assert await store.get_profile(created["id"]) == mine
        assert reads(metrics, "master") == 2


@pytest.fixture(params=["redis", "no_cache"])
async def cluster_api(
    request: pytest.FixtureRequest, mariadb_cluster: MariaDBCluster, redis_clean: RedisServer
) -> AsyncIterator[ApiUnderTest]:
    cache = cache_settings(redis_clean if request.param == "redis" else None)
    async for running in api_on(
        mariadb_cluster, profiles=20, replica_check_interval_s=0.2, **cache
    ):
        yield running


def all_reads(api: ApiUnderTest) -> tuple[float, float]:
    """(reads served by replicas, all database reads)."""
    metrics = api.service.metrics
    on_replicas = sum(reads(metrics, pool) for pool in REPLICAS)
    return on_replicas, on_replicas + reads(metrics, "master")


async def test_patch_then_get_500_times_never_shows_a_stale_value_while_a_replica_lags_2s(
    cluster_api: ApiUnderTest, mariadb_cluster: MariaDBCluster
) -> None:
    mariadb_cluster.set_delay(2, index=1)
    client = cluster_api.client
    store = cluster_api.service.store
    assert isinstance(store, MySQLProfileStore)
    await eventually(lambda: store.router.replicas[1].delay_s == 2)
    replicas_before, reads_before = all_reads(cluster_api)
    stale = 0
    for i in range(500):
        profile_id = 1 + i % 20
        patched = await client.patch(f"/api/profile/{profile_id}", json={"bio": f"v{i}"})
        assert patched.status_code == 200
        got = await client.get(f"/api/profile/{profile_id}")
        assert got.status_code == 200
        stale += got.json()["bio"] != f"v{i}"
    replicas_after, reads_after = all_reads(cluster_api)
    share = (replicas_after - replicas_before) / (reads_after - reads_before)
    print(f"\n500 PATCH+GET through one cookie client, replica1 delayed 2 s: {stale} stale, "
          f"replica share of reads {share:.1%}")  # fmt: skip
    assert stale == 0
    assert share >= 0.8


async def test_writes_hand_out_a_signed_position_that_api_clients_can_send_as_a_header(
    mariadb_cluster: MariaDBCluster,
) -> None:
    # No cache, and a monitor too slow to notice paused replicas: plain reads really are
    # served stale, so only the position the header carries can route the read correctly.
    served = api_on(mariadb_cluster, profiles=5, replica_check_interval_s=60.0, **NO_CACHE)
    async with contextlib.aclosing(served) as apis:
        api = await anext(apis)
        for index in range(3):
            mariadb_cluster.pause_replication(index)
        patched = await api.client.patch("/api/profile/2", json={"bio": "by header"})
        token = patched.headers[HEADER_NAME]
        assert patched.headers["set-cookie"].startswith(f"{COOKIE_NAME}={token};")
        api.client.cookies.clear()
        stale = await api.client.get("/api/profile/2")
        assert stale.json()["bio"] != "by header"  # the replicas have not applied it
        mine = await api.client.get("/api/profile/2", headers={HEADER_NAME: token})
        assert mine.json()["bio"] == "by header"
        forged = token.replace("~", "1~", 1)
        assert (await api.client.get("/api/profile/2", headers={HEADER_NAME: forged})).json()[
            "bio"
        ] != "by header"


async def test_the_service_opens_before_its_database_exists(
    mariadb_cluster: MariaDBCluster, metrics: ServiceMetrics
) -> None:
    # `loadcap serve` opens the store, then creates the schema: the monitor's first pass
    # meets "unknown database" on every server and must not fail the start.
    mariadb_cluster.master.sql("DROP DATABASE loadcap")
    mariadb_cluster.wait_synced()
    async with cluster_store(mariadb_cluster, metrics, replica_check_interval_s=0.1) as store:
        created = await store.create_profile(PROFILE)
        await eventually(lambda: all(in_rotation(metrics, pool) for pool in REPLICAS))
        mariadb_cluster.wait_synced()
        assert await store.get_profile(created["id"], primary=True) == created


async def test_another_instance_with_the_shared_secret_honours_the_position(
    mariadb_cluster: MariaDBCluster,
) -> None:
    def instance(secret: str) -> Settings:
        return cluster_settings(
            mariadb_cluster,
            replica_check_interval_s=60.0,  # paused replicas stay in rotation: reads go stale
            read_your_writes_secret=secret,
            **NO_CACHE,
        )

    await seed(instance("shared"), mariadb_cluster, 5)
    async with (
        contextlib.aclosing(running_api(instance("shared"))) as first,
        contextlib.aclosing(running_api(instance("shared"))) as second,
        contextlib.aclosing(running_api(instance("another"))) as third,
    ):
        a, b, c = await anext(first), await anext(second), await anext(third)
        for index in range(3):
            mariadb_cluster.pause_replication(index)
        patched = await a.client.patch("/api/profile/4", json={"bio": "written on A"})
        cookie = {"cookie": f"{COOKIE_NAME}={patched.headers[HEADER_NAME]}"}
        assert (await b.client.get("/api/profile/4", headers=cookie)).json()["bio"] == (
            "written on A"
        )
        # A secret of its own: the position does not verify, so it is ignored.
        assert (await c.client.get("/api/profile/4", headers=cookie)).json()["bio"] != (
            "written on A"
        )


async def test_the_seeds_mix_with_cookie_keeping_clients_reads_mostly_from_replicas(
    mariadb_cluster: MariaDBCluster, redis_clean: RedisServer
) -> None:
    # 80 % list, 10 % get, 5 % create, 5 % patch, each client keeping its cookie: by time
    # window nearly every read was pinned to the master (6.8 % on replicas); by GTID they
    # stay on replicas.
    rng = random.Random(7)
    served = api_on(mariadb_cluster, profiles=500, redis_url=redis_clean.url)
    async with contextlib.aclosing(served) as apis:
        api = await anext(apis)
        clients = [client_for(api.app, f"192.0.2.{n}") for n in range(1, 9)]
        created = 0

        async def user(client: httpx.AsyncClient) -> None:
            nonlocal created
            for _ in range(150):
                roll = rng.random()
                if roll < 0.80:
                    response = await client.get(f"/api/profiles?page={rng.randint(1, 25)}")
                elif roll < 0.90:
                    response = await client.get(f"/api/profile/{rng.randint(1, 500)}")
                elif roll < 0.95:
                    created += 1
                    body = {"name": "N", "email": f"n{created}-{rng.random()}@example.com"}
                    response = await client.post("/api/profiles", json=body)
                else:
                    body = {"bio": f"bio {rng.random()}"}
                    response = await client.patch(f"/api/profile/{rng.randint(1, 500)}", json=body)
                assert response.status_code < 300, response.text

        try:
            await asyncio.gather(*(user(client) for client in clients))
        finally:
            for client in clients:
                await client.aclose()
        on_replicas, total = all_reads(api)
    print(f"\nseed mix, 8 cookie-keeping clients: {on_replicas:.0f} of {total:.0f} database "
          f"reads on replicas ({on_replicas / total:.1%})")  # fmt: skip
    assert total >= 100
    assert on_replicas / total >= 0.8
