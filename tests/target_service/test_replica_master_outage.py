"""Reads survive a master outage: the master of a master + 3 GTID replicas set is SIGKILLed
under read load, with the cache off and on (Redis), and restarted.

A replica whose master is gone holds the last state the master shipped: it keeps serving
reads (its age shown in /health) instead of leaving rotation and sending every read to the
dead master. Each test prints its figures (reads, failures, p99 during the fault, recovery).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from target_service.mysql_store import MySQLProfileStore
from tests.fixtures.mariadb_server import MariaDBCluster
from tests.fixtures.redis_server import RedisServer
from tests.fixtures.replica_cluster import api_on, cache_settings, eventually
from tests.target_service.conftest import ApiUnderTest

PROFILES = 2_000  # more ids than the run reads, so the cache keeps missing
READERS = 8
MAX_READS = 200_000  # a bound on every load loop, besides its deadline


@dataclass
class ReadLoad:
    """Concurrent GETs (one profile or a list page) recording (start, seconds, ok)."""

    client: httpx.AsyncClient
    samples: list[tuple[float, float, bool]] = field(default_factory=list)
    stopped: bool = False

    async def run(self, deadline_s: float) -> None:
        deadline = time.monotonic() + deadline_s
        rng = random.Random(11)

        async def reader() -> None:
            while not self.stopped and time.monotonic() < deadline:
                if len(self.samples) >= MAX_READS:
                    return
                if rng.random() < 0.8:
                    path = f"/api/profiles?page={rng.randint(1, 50)}&limit=20"
                else:
                    path = f"/api/profile/{rng.randint(1, PROFILES)}"
                started = time.monotonic()
                try:
                    ok = (await self.client.get(path)).status_code == 200
                except httpx.HTTPError:
                    ok = False
                self.samples.append((started, time.monotonic() - started, ok))

        await asyncio.gather(*(reader() for _ in range(READERS)))

    def between(self, start: float, end: float) -> list[tuple[float, float, bool]]:
        return [s for s in self.samples if start <= s[0] < end]


def p99_ms(samples: list[tuple[float, float, bool]]) -> float:
    latencies = sorted(s[1] for s in samples)
    return 1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]


async def write_succeeds(client: httpx.AsyncClient, n: int) -> bool:
    body = {"name": "W", "email": f"w{n}@example.com", "bio": ""}
    return (await client.post("/api/profiles", json=body)).status_code == 201


async def until_writes_succeed(client: httpx.AsyncClient, *, timeout: float) -> float:
    started = time.monotonic()
    n = 0
    while not await write_succeeds(client, n):
        n += 1
        if time.monotonic() - started > timeout:
            raise AssertionError(f"writes still failing after {timeout}s")
        await asyncio.sleep(0.05)
    return time.monotonic() - started


def router_of(api: ApiUnderTest) -> Any:
    store = api.service.store
    assert isinstance(store, MySQLProfileStore)
    return store.router


@pytest.fixture(params=["cache_off", "redis"])
async def outage_api(
    request: pytest.FixtureRequest, mariadb_cluster: MariaDBCluster, redis_clean: RedisServer
) -> AsyncIterator[ApiUnderTest]:
    cache = cache_settings(redis_clean if request.param == "redis" else None)
    async for running in api_on(
        mariadb_cluster,
        profiles=PROFILES,
        replica_check_interval_s=0.2,
        replica_retry_s=0.5,
        **cache,
    ):
        yield running
    mariadb_cluster.master.start()


async def master_outage_under_read_load(
    api: ApiUnderTest, cluster: MariaDBCluster, *, outage_s: float, rejoin_timeout_s: float
) -> dict[str, float]:
    """Kill the master under read load, restart it after `outage_s`, wait for writes and for
    every replica to rejoin; the figures of the run."""
    client, router = api.client, router_of(api)
    load = ReadLoad(client)
    task = asyncio.create_task(load.run(deadline_s=outage_s + rejoin_timeout_s + 30))
    try:
        await eventually(lambda: len(load.samples) >= 300, timeout=30)
        # Recent writes: cache fills right after them want "the master's position now".
        for profile_id in range(1, 21):
            patched = await client.patch(f"/api/profile/{profile_id}", json={"bio": "before"})
            assert patched.status_code == 200
        killed = time.monotonic()
        # In a thread: the service keeps answering while the fixture waits for processes.
        await asyncio.to_thread(cluster.master.stop, kill=True)
        await eventually(lambda: not router.master_reachable, timeout=10)
        await eventually(lambda: time.monotonic() - killed >= outage_s, timeout=outage_s + 1)
        health = (await client.get("/health")).json()
        assert health["checks"]["database"]["ok"] is False
        during = [check for name, check in health["checks"].items() if name.startswith("rep")]
        fault_end = time.monotonic()
        await asyncio.to_thread(cluster.master.start)
        restarted = time.monotonic()
        writes_back_s = await until_writes_succeed(client, timeout=30)
        # Rejoined: following the live master again, not serving as survivors of a dead one.
        rejoin_s = await eventually(
            lambda: (
                router.master_reachable
                and all(r.in_rotation and r.orphaned_at is None for r in router.replicas)
            ),
            timeout=rejoin_timeout_s,
        )
        rejoined = time.monotonic()
    finally:
        load.stopped = True
        await task
    fault = load.between(killed, fault_end)
    everything = load.between(killed, rejoined)
    figures = {
        "reads": len(everything),
        "failed": sum(not ok for _, _, ok in everything),
        "reads_during_outage": len(fault),
        "failed_during_outage": sum(not ok for _, _, ok in fault),
        "p99_ms_during_outage": round(p99_ms(fault), 1),
        "writes_back_after_restart_s": round(writes_back_s, 2),
        "replicas_rejoined_after_restart_s": round(rejoined - restarted, 2),
        "rejoin_wait_s": round(rejoin_s, 2),
    }
    print("\n", figures, [check["detail"] for check in during])
    assert all(check["ok"] for check in during), during
    assert all("master unreachable" in check["detail"] for check in during), during
    return figures


async def test_reads_survive_a_master_killed_under_load(
    outage_api: ApiUnderTest, mariadb_cluster: MariaDBCluster
) -> None:
    figures = await master_outage_under_read_load(
        outage_api, mariadb_cluster, outage_s=3.0, rejoin_timeout_s=30
    )
    assert figures["reads_during_outage"] >= 100
    assert figures["failed"] == 0


async def test_replicas_with_mariadbs_default_connect_retry_rejoin_by_themselves(
    mariadb_cluster: MariaDBCluster, redis_clean: RedisServer
) -> None:
    # MASTER_CONNECT_RETRY = 60 s (MariaDB's default): after the master is back, a replica
    # stays disconnected for up to a minute. Meanwhile it must not serve reads (the master
    # takes writes it does not see) and reads must not fail; then it rejoins on its own.
    for index in range(3):
        mariadb_cluster.set_connect_retry(60, index)
    assert mariadb_cluster.replication_status(0)["Connect_Retry"] == "60"
    served = api_on(
        mariadb_cluster,
        profiles=PROFILES,
        redis_url=redis_clean.url,
        replica_check_interval_s=0.5,
    )
    try:
        async with contextlib.aclosing(served) as apis:
            async for api in apis:
                figures = await master_outage_under_read_load(
                    api, mariadb_cluster, outage_s=2.0, rejoin_timeout_s=90
                )
    finally:
        mariadb_cluster.master.start()
    assert figures["failed"] == 0
    # They did wait for their retry: out of rotation while the live master was ahead of them.
    assert figures["replicas_rejoined_after_restart_s"] > 5
