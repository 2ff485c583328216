"""MySQLProfileStore against a real throwaway MariaDB (no replicas)."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator

import pytest

from target_service.metrics import ServiceMetrics
from target_service.mysql_store import BULK_BATCH_ROWS, MySQLProfileStore
from target_service.settings import Settings
from target_service.storage import DuplicateEmail, NewProfile, StorageUnavailable
from tests.fixtures.mariadb_server import MariaDBServer
from tests.fixtures.ports import free_port

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def new_profile(n: int, **fields: str) -> NewProfile:
    profile = NewProfile(name=f"User {n}", email=f"user{n}@example.com", bio=f"bio {n}")
    profile.update(fields)  # type: ignore[typeddict-item]
    return profile


@pytest.fixture
async def store(
    mariadb_db: MariaDBServer, metrics: ServiceMetrics
) -> AsyncIterator[MySQLProfileStore]:
    profiles = MySQLProfileStore(Settings().with_changes(db_url=mariadb_db.url), metrics)
    await profiles.open()
    await profiles.init_schema()
    yield profiles
    await profiles.close()


async def test_created_profile_reads_back_with_iso_utc_timestamps(
    store: MySQLProfileStore,
) -> None:
    created = await store.create_profile(new_profile(1))
    assert ISO_UTC.match(created["created_at"])
    assert created["created_at"] == created["updated_at"]
    assert await store.get_profile(created["id"]) == created
    assert await store.get_profile(created["id"] + 1000) is None


async def test_list_is_ordered_by_id_and_paged(store: MySQLProfileStore) -> None:
    ids = [(await store.create_profile(new_profile(n)))["id"] for n in range(5)]
    page = await store.list_profiles(offset=1, limit=3)
    assert [p["id"] for p in page] == ids[1:4]
    assert await store.list_profiles(offset=5, limit=3) == []


async def test_update_changes_only_given_fields_and_bumps_updated_at(
    store: MySQLProfileStore,
) -> None:
    created = await store.create_profile(new_profile(1))
    updated = await store.update_profile(created["id"], {"bio": "new bio"})
    assert updated is not None
    assert updated["bio"] == "new bio"
    assert updated["name"] == created["name"]
    assert updated["created_at"] == created["created_at"]
    assert updated["updated_at"] > created["updated_at"]
    assert await store.get_profile(created["id"], primary=True) == updated


async def test_update_of_unknown_id_returns_none(store: MySQLProfileStore) -> None:
    assert await store.update_profile(424242, {"name": "nobody"}) is None


async def test_duplicate_email_on_create_raises_duplicate_email(
    store: MySQLProfileStore,
) -> None:
    await store.create_profile(new_profile(1))
    with pytest.raises(DuplicateEmail):
        await store.create_profile(new_profile(2, email="USER1@example.com"))


async def test_duplicate_email_on_update_raises_and_keeps_the_row(
    store: MySQLProfileStore,
) -> None:
    await store.create_profile(new_profile(1))
    second = await store.create_profile(new_profile(2))
    with pytest.raises(DuplicateEmail):
        await store.update_profile(second["id"], {"email": "user1@example.com", "bio": "x"})
    assert await store.get_profile(second["id"]) == second
    # The pool is still usable after the failed transaction.
    assert await store.update_profile(second["id"], {"bio": "fine"}) is not None


async def test_sql_metacharacters_and_unicode_are_stored_literally(
    store: MySQLProfileStore,
) -> None:
    hostile = "Robert'); DROP TABLE profiles;-- \\ % _ \" ` \N{PILE OF POO} ñ 漢字"
    created = await store.create_profile(new_profile(1, name=hostile, bio=hostile * 3))
    fetched = await store.get_profile(created["id"])
    assert fetched is not None
    assert fetched["name"] == hostile
    assert fetched["bio"] == hostile * 3
    assert len(await store.list_profiles(offset=0, limit=10)) == 1


async def test_bulk_insert_counts_rows_across_batches(store: MySQLProfileStore) -> None:
    total = BULK_BATCH_ROWS + 123
    inserted = await store.bulk_insert(new_profile(n) for n in range(total))
    assert inserted == total
    last = await store.list_profiles(offset=total - 1, limit=5)
    assert [p["email"] for p in last] == [f"user{total - 1}@example.com"]


async def test_bulk_insert_with_a_duplicate_raises_duplicate_email(
    store: MySQLProfileStore,
) -> None:
    rows = [new_profile(1), new_profile(2), new_profile(1)]
    with pytest.raises(DuplicateEmail):
        await store.bulk_insert(rows)
    assert await store.list_profiles(offset=0, limit=10) == []  # the batch rolled back


async def test_init_schema_creates_the_database_and_is_idempotent_and_quiet(
    mariadb_db: MariaDBServer, caplog: pytest.LogCaptureFixture
) -> None:
    url = mariadb_db.url.rsplit("/", 1)[0] + "/loadcap_fresh"
    mariadb_db.sql("DROP DATABASE IF EXISTS loadcap_fresh")
    profiles = MySQLProfileStore(Settings().with_changes(db_url=url), ServiceMetrics())
    await profiles.open()
    try:
        await profiles.init_schema()
        with caplog.at_level(logging.WARNING):
            await profiles.init_schema()
        assert caplog.records == []  # no "already exists" warning on every start
        assert (await profiles.create_profile(new_profile(1)))["id"] == 1
    finally:
        await profiles.close()
        mariadb_db.sql("DROP DATABASE IF EXISTS loadcap_fresh")


async def test_unreachable_master_raises_storage_unavailable_and_fails_health() -> None:
    url = f"mysql://root@127.0.0.1:{free_port()}/loadcap"
    profiles = MySQLProfileStore(Settings().with_changes(db_url=url), ServiceMetrics())
    await profiles.open()  # opening never connects: the service starts and reports unhealthy
    try:
        with pytest.raises(StorageUnavailable):
            await profiles.get_profile(1)
        with pytest.raises(StorageUnavailable):
            await profiles.create_profile(new_profile(1))
        with pytest.raises(StorageUnavailable):
            await profiles.init_schema()
        [check] = await profiles.checks()
        assert (check.name, check.ok, check.critical) == ("database", False, True)
    finally:
        await profiles.close()


async def test_health_check_passes_on_a_reachable_master(store: MySQLProfileStore) -> None:
    [check] = await store.checks()
    assert (check.name, check.ok, check.critical) == ("database", True, True)


async def test_queries_are_counted_on_the_master_pool(
    store: MySQLProfileStore, metrics: ServiceMetrics
) -> None:
    created = await store.create_profile(new_profile(1))
    await store.get_profile(created["id"])
    sample = metrics.registry.get_sample_value
    assert sample("loadcap_db_queries_total", {"pool": "master", "kind": "read"}) == 1
    assert sample("loadcap_db_queries_total", {"pool": "master", "kind": "write"}) == 1
    assert sample("loadcap_db_pool_size", {"pool": "master"}) == 10
    assert sample("loadcap_db_pool_in_use", {"pool": "master"}) == 0
