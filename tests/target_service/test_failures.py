"""When things break inside: 503 for an unreachable database, 500 for a bug, and never a
traceback or SQL text in the response."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from target_service.settings import Settings
from target_service.sqlite_store import SQLiteProfileStore
from target_service.storage import Profile
from tests.fixtures.mariadb_server import MariaDBServer
from tests.target_service.conftest import ApiUnderTest, prepare, running_api
from tests.target_service.test_api_contract import assert_error


class BuggyStore(SQLiteProfileStore):
    """The real store with a bug in one read path, leaking SQL in its exception message."""

    async def get_profile(self, profile_id: int, *, primary: bool = False) -> Profile | None:
        raise RuntimeError("SELECT secret FROM profiles WHERE id = 1 -- Traceback")


async def test_an_unexpected_error_is_a_json_500_without_internals(
    sqlite_api: ApiUnderTest,
) -> None:
    service = sqlite_api.service
    buggy = BuggyStore(service.settings, service.metrics)
    await buggy.open()
    service.cache.store = buggy
    try:
        assert_error(await sqlite_api.client.get("/api/profile/1"), 500, "internal_error")
    finally:
        await buggy.close()


async def test_closed_sqlite_store_makes_the_service_unhealthy(sqlite_api: ApiUnderTest) -> None:
    await sqlite_api.service.store.close()
    health = await sqlite_api.client.get("/health")
    assert health.status_code == 503
    assert health.json()["status"] == "unhealthy"
    assert health.json()["checks"]["database"]["ok"] is False
    assert_error(await sqlite_api.client.get("/api/profile/2"), 503, "database_unavailable")
    created = await sqlite_api.client.post(
        "/api/profiles", json={"name": "A", "email": "a@example.com"}
    )
    assert_error(created, 503, "database_unavailable")
    await sqlite_api.service.store.open()  # so the lifespan can close it


@pytest.fixture
async def mariadb_api(mariadb_db: MariaDBServer, tmp_path: Path) -> AsyncIterator[ApiUnderTest]:
    settings = Settings(db_url=mariadb_db.url, rate_limit=None)
    await prepare(settings, 5)
    async for running in running_api(settings):
        yield running


async def test_stopped_mariadb_answers_503_quickly_and_recovers(
    mariadb_api: ApiUnderTest, mariadb_db: MariaDBServer
) -> None:
    mariadb_db.stop()
    try:
        started = time.perf_counter()
        health = await mariadb_api.client.get("/health")
        assert health.status_code == 503 and health.json()["status"] == "unhealthy"
        assert_error(await mariadb_api.client.get("/api/profile/3"), 503, "database_unavailable")
        assert time.perf_counter() - started < 10
    finally:
        mariadb_db.start()
    deadline = time.monotonic() + 20
    while (await mariadb_api.client.get("/health")).status_code != 200:
        assert time.monotonic() < deadline, "never recovered"
        await asyncio.sleep(0.1)
    assert (await mariadb_api.client.get("/api/profile/3")).status_code == 200
