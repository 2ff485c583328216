"""The whole service (app + MySQL store + in-process cache) on a real master + replica pair."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.fixtures import replica_cluster
from tests.fixtures.mariadb_server import MariaDBPair
from tests.fixtures.replica_cluster import NO_CACHE, api_on, eventually
from tests.target_service.conftest import ApiUnderTest, client_for


async def replicated(pair: MariaDBPair, **settings: Any) -> AsyncIterator[ApiUnderTest]:
    async for running in api_on(pair, profiles=5, **NO_CACHE, **settings):
        yield running


@pytest.fixture
async def stale_replica_api(mariadb_pair: MariaDBPair) -> AsyncIterator[ApiUnderTest]:
    # A slow lag monitor keeps a paused replica in rotation: readers who did not write
    # really are served stale rows, which is what read-your-writes must protect against.
    async for running in replicated(mariadb_pair, replica_check_interval_s=60.0):
        yield running


@pytest.fixture
async def watched_api(mariadb_pair: MariaDBPair) -> AsyncIterator[ApiUnderTest]:
    async for running in replicated(
        mariadb_pair, replica_check_interval_s=0.1, replica_retry_s=0.3
    ):
        yield running


def queries(api: ApiUnderTest, pool: str) -> float:
    return replica_cluster.queries(api.service.metrics, pool)


def in_rotation(api: ApiUnderTest) -> bool:
    return replica_cluster.in_rotation(api.service.metrics)


async def test_patch_then_get_shows_the_new_value_while_the_replica_serves_the_old(
    stale_replica_api: ApiUnderTest, mariadb_pair: MariaDBPair
) -> None:
    mariadb_pair.pause_replication()
    writer = stale_replica_api.client
    patched = await writer.patch("/api/profile/2", json={"bio": "patched while paused"})
    assert patched.status_code == 200

    for _ in range(3):
        mine = await writer.get("/api/profile/2")
        assert mine.json()["bio"] == "patched while paused"

    # The replica really is stale and in rotation: without read-your-writes the GET above
    # could have been served the old row.
    [[stale_bio]] = mariadb_pair.replica.sql(
        "SELECT bio FROM profiles WHERE id = 2", database="loadcap"
    )
    assert stale_bio != "patched while paused"
    assert in_rotation(stale_replica_api) == 1
    async with client_for(stale_replica_api.app, "192.0.2.7") as stranger:
        assert (await stranger.get("/api/profile/3")).status_code == 200
    assert queries(stale_replica_api, "replica0") >= 1


async def test_stopped_replica_degrades_health_but_not_requests_and_recovers(
    watched_api: ApiUnderTest, mariadb_pair: MariaDBPair
) -> None:
    client: httpx.AsyncClient = watched_api.client
    assert (await client.get("/health")).json()["status"] == "healthy"

    mariadb_pair.stop_replica()
    assert (await client.get("/api/profile/1")).status_code == 200
    assert (await client.get("/api/profiles")).status_code == 200
    health = await client.get("/health")
    assert health.status_code == 200
    assert health.json()["status"] == "degraded"
    assert health.json()["checks"]["replica0"]["ok"] is False

    mariadb_pair.start_replica()
    await eventually(lambda: in_rotation(watched_api) == 1)
    assert (await client.get("/health")).json()["status"] == "healthy"


async def test_stopped_master_makes_health_unhealthy(
    watched_api: ApiUnderTest, mariadb_pair: MariaDBPair
) -> None:
    mariadb_pair.master.stop(kill=True)
    try:
        health = await watched_api.client.get("/health")
        assert health.status_code == 503
        assert health.json()["status"] == "unhealthy"
        assert health.json()["checks"]["database"]["ok"] is False
        write = await watched_api.client.post(
            "/api/profiles", json={"name": "N", "email": "n@example.com", "bio": ""}
        )
        assert write.status_code == 503
    finally:
        mariadb_pair.master.start()


async def test_metrics_start_with_zero_series_for_every_pool_and_fallback_reason(
    watched_api: ApiUnderTest,
) -> None:
    # A run's first /metrics snapshot is the baseline its deltas start from: a series that
    # only appears at its first increment would lose that increment.
    text = (await watched_api.client.get("/metrics")).text
    for series in (
        'loadcap_db_queries_total{kind="read",pool="master"} 0.0',
        'loadcap_db_queries_total{kind="write",pool="master"} 0.0',
        'loadcap_db_queries_total{kind="read",pool="replica0"} 0.0',
        'loadcap_replica_fallbacks_total{reason="down"} 0.0',
        'loadcap_replica_fallbacks_total{reason="lag"} 0.0',
        'loadcap_replica_fallbacks_total{reason="read_your_writes"} 0.0',
        'loadcap_db_pool_size{pool="replica0"} 10.0',
        'loadcap_db_pool_in_use{pool="replica0"} 0.0',
        'loadcap_db_read_seconds_total{pool="replica0"} 0.0',
        'loadcap_db_queries_total{kind="position",pool="replica0"} 0.0',
    ):
        assert series in text, series
