"""The read-your-writes signing key a fleet shares by default: kept in the database, created
once however many instances start together, read by each at start, never shown; an explicit
LOADCAP_READ_YOUR_WRITES_SECRET still wins."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from target_service.gtid import GtidPosition
from target_service.metrics import ServiceMetrics
from target_service.mysql_store import MySQLProfileStore
from target_service.read_your_writes import ReadYourWrites
from target_service.settings import Settings
from target_service.sqlite_store import SQLiteProfileStore
from tests.fixtures.mariadb_server import MariaDBPair, MariaDBServer
from tests.fixtures.replica_cluster import eventually
from tests.target_service.conftest import ApiUnderTest, prepare, running_api

POSITION = GtidPosition.parse("0-1-5") or GtidPosition()


def position_of(api: ApiUnderTest) -> str:
    return api.service.read_your_writes.token(POSITION)


def verifies(api: ApiUnderTest, token: str) -> bool:
    return api.service.read_your_writes.verify(token) == POSITION


async def test_concurrent_first_starts_on_mariadb_agree_on_one_key(
    mariadb_db: MariaDBServer,
) -> None:
    settings = Settings(db_url=mariadb_db.url, rate_limit=None)
    stores = [MySQLProfileStore(settings, ServiceMetrics()) for _ in range(6)]
    for store in stores:
        await store.open()
    try:
        # Half create the schema as `serve` does, half only read the key: all race to create it.
        keys = await asyncio.gather(
            *(store.init_schema() for store in stores[:3]),
            *(store.signing_key() for store in stores[3:]),
        )
        stored = mariadb_db.sql("SELECT name, secret FROM signing_keys", database="loadcap")
        assert len(stored) == 1
        name, secret = stored[0]
        assert name == "read_your_writes" and len(secret) == 64
        assert keys[3:] == [secret] * 3  # none had to wait for the schema
        assert [await store.signing_key() for store in stores] == [secret] * 6
    finally:
        for store in stores:
            await store.close()


async def test_two_instances_with_default_settings_verify_each_others_positions(
    mariadb_db: MariaDBServer,
) -> None:
    settings = Settings(db_url=mariadb_db.url, rate_limit=None)
    assert settings.read_your_writes_secret == ""  # the default: the database's key
    await prepare(settings, 3)
    async with (
        contextlib.aclosing(running_api(settings)) as first,
        contextlib.aclosing(running_api(settings)) as second,
    ):
        a, b = await anext(first), await anext(second)
        assert verifies(b, position_of(a)) and verifies(a, position_of(b))
        # The key is in neither /health nor /metrics nor the service's repr.
        (secret,) = mariadb_db.sql("SELECT secret FROM signing_keys", database="loadcap")[0]
        for path in ("/health", "/metrics", "/openapi.json"):
            assert secret not in (await a.client.get(path)).text
        assert secret not in repr(a.service.read_your_writes)
        assert secret not in repr(a.settings)


async def test_an_explicit_secret_overrides_the_database_key(mariadb_db: MariaDBServer) -> None:
    default = Settings(db_url=mariadb_db.url, rate_limit=None)
    explicit = default.with_changes(read_your_writes_secret="given")
    await prepare(default, 1)
    async with (
        contextlib.aclosing(running_api(default)) as first,
        contextlib.aclosing(running_api(explicit)) as second,
        contextlib.aclosing(running_api(explicit)) as third,
    ):
        a, b, c = await anext(first), await anext(second), await anext(third)
        assert verifies(c, position_of(b))
        assert not verifies(b, position_of(a)) and not verifies(a, position_of(b))


async def test_sqlite_workers_share_the_files_key(tmp_path: Path) -> None:
    settings = Settings(db_url=f"sqlite:///{tmp_path / 'key.db'}", rate_limit=None)
    stores = [SQLiteProfileStore(settings, ServiceMetrics()) for _ in range(4)]
    for store in stores:
        await store.open()
    try:
        keys = await asyncio.gather(*(store.signing_key() for store in stores))
        assert len(set(keys)) == 1 and keys[0] is not None and len(keys[0]) == 64
    finally:
        for store in stores:
            await store.close()
    await prepare(settings, 1)  # the schema keeps the key it found
    async with (
        contextlib.aclosing(running_api(settings)) as first,
        contextlib.aclosing(running_api(settings)) as second,
    ):
        a, b = await anext(first), await anext(second)
        assert verifies(b, position_of(a))
        assert a.service.read_your_writes.verify(position_of(a)) == POSITION


async def test_with_the_master_down_at_start_the_key_comes_from_a_replica(
    mariadb_pair: MariaDBPair,
) -> None:
    settings = Settings(
        db_url=mariadb_pair.master_url, replica_urls=(mariadb_pair.replica_url,), rate_limit=None
    )
    await prepare(settings, 1)
    mariadb_pair.wait_synced()
    (secret,) = mariadb_pair.master.sql("SELECT secret FROM signing_keys", database="loadcap")[0]
    mariadb_pair.master.stop()
    try:
        store = MySQLProfileStore(settings, ServiceMetrics())
        await store.open()
        try:
            assert await store.signing_key() == secret
        finally:
            await store.close()
    finally:
        mariadb_pair.master.start()


async def test_no_database_at_start_keeps_a_private_key_and_loads_the_shared_one_later(
    mariadb_db: MariaDBServer,
) -> None:
    settings = Settings(db_url=mariadb_db.url, rate_limit=None, replica_retry_s=0.2)
    await prepare(settings, 1)
    (secret,) = mariadb_db.sql("SELECT secret FROM signing_keys", database="loadcap")[0]
    fleet_position = ReadYourWrites(5.0, mode="gtid", secret=secret).token(POSITION)
    mariadb_db.stop()
    try:
        async with contextlib.aclosing(running_api(settings)) as apis:
            api = await anext(apis)  # starts anyway; /health says the database is down
            assert verifies(api, position_of(api)) and not verifies(api, fleet_position)
            await asyncio.to_thread(mariadb_db.start)
            await eventually(lambda: verifies(api, fleet_position), timeout=15)
    finally:
        mariadb_db.start()
