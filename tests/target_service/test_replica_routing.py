"""Replica routing on a real MariaDB master + GTID replica started by the fixture."""

from __future__ import annotations

from target_service.metrics import ServiceMetrics
from target_service.mysql_store import MySQLProfileStore
from target_service.settings import Settings
from target_service.storage import NewProfile
from tests.fixtures.mariadb_server import MariaDBPair
from tests.fixtures.replica_cluster import cluster_store, eventually, in_rotation, queries, sample


def fallbacks(metrics: ServiceMetrics, reason: str) -> float:
    return sample(metrics, "loadcap_replica_fallbacks_total", reason=reason)


PROFILE = NewProfile(name="Ada", email="ada@example.com", bio="old bio")


async def test_reads_are_served_by_the_replica_and_writes_by_the_master(
    mariadb_pair: MariaDBPair, metrics: ServiceMetrics
) -> None:
    async with cluster_store(mariadb_pair, metrics) as store:
        created = await store.create_profile(PROFILE)
        mariadb_pair.wait_synced()
        assert await store.get_profile(created["id"]) == created
        assert await store.list_profiles(offset=0, limit=10) == [created]

        assert queries(metrics, "replica0", "read") == 2
        assert queries(metrics, "master", "read") == 0
        assert queries(metrics, "master", "write") == 1
        assert queries(metrics, "replica0", "write") == 0
        assert sample(metrics, "loadcap_db_pool_size", pool="replica0") == 10
        assert in_rotation(metrics) == 1
        # The lag the monitor measured, beside the threshold it judges it by (the alert
        # ReplicaLagHigh compares the two).
        lag = metrics.registry.get_sample_value("loadcap_replica_lag_seconds", {"pool": "replica0"})
        assert lag is not None and 0 <= lag < 5
        assert metrics.registry.get_sample_value("loadcap_replica_max_lag_seconds") == 5.0


async def test_primary_read_sees_a_write_the_paused_replica_does_not_have(
    mariadb_pair: MariaDBPair, metrics: ServiceMetrics
) -> None:
    # A slow monitor keeps the paused replica in rotation, so plain reads really hit it.
    async with cluster_store(mariadb_pair, metrics, replica_check_interval_s=60.0) as store:
        created = await store.create_profile(PROFILE)
        mariadb_pair.wait_synced()
        mariadb_pair.pause_replication()

        await store.update_profile(created["id"], {"bio": "new bio"})
        mine = await store.get_profile(created["id"], primary=True)
        stale = await store.get_profile(created["id"])

        assert mine is not None and mine["bio"] == "new bio"
        assert stale is not None and stale["bio"] == "old bio"
        assert fallbacks(metrics, "read_your_writes") == 1
        assert queries(metrics, "replica0") == 1


async def test_stopped_replica_falls_back_to_master_and_rejoins_when_restarted(
    mariadb_pair: MariaDBPair, metrics: ServiceMetrics
) -> None:
    async with cluster_store(
        mariadb_pair, metrics, replica_retry_s=0.3, replica_check_interval_s=0.1
    ) as store:
        created = await store.create_profile(PROFILE)
        mariadb_pair.wait_synced()
        mariadb_pair.stop_replica()

        assert await store.get_profile(created["id"]) == created  # no error reaches the caller
        assert await store.get_profile(created["id"]) == created
        assert in_rotation(metrics) == 0
        assert fallbacks(metrics, "down") == 2
        assert queries(metrics, "master") == 2
        database, replica = await store.checks()
        assert (database.ok, database.critical) == (True, True)
        assert (replica.name, replica.ok, replica.critical) == ("replica0", False, False)

        mariadb_pair.start_replica()
        await eventually(lambda: in_rotation(metrics) == 1)
        # It may rejoin while still replaying (lag within the limit is allowed): wait for it
        # before reading a row it must have.
        mariadb_pair.wait_synced()
        served_before = queries(metrics, "replica0")
        assert await store.get_profile(created["id"]) == created
        assert queries(metrics, "replica0") == served_before + 1
        assert [check.ok for check in await store.checks()] == [True, True]


async def test_replica_lagging_beyond_the_limit_leaves_rotation_until_it_catches_up(
    mariadb_pair: MariaDBPair, metrics: ServiceMetrics
) -> None:
    async with cluster_store(
        mariadb_pair, metrics, replica_max_lag_s=1.0, replica_check_interval_s=0.1
    ) as store:
        [replica] = store.router.replicas
        # Delayed replication: a real, growing Seconds_Behind_Master once the master writes.
        mariadb_pair.set_delay(5)
        created = await store.create_profile(PROFILE)
        await eventually(lambda: replica.lag_s is not None and replica.lag_s > 1.0)
        assert in_rotation(metrics) == 0
        assert replica.reason == "lag"

        assert await store.get_profile(created["id"]) == created  # the master answers
        assert fallbacks(metrics, "lag") == 1

        mariadb_pair.set_delay(0)
        await eventually(lambda: in_rotation(metrics) == 1)


async def test_stopped_replication_takes_the_replica_out_of_rotation(
    mariadb_pair: MariaDBPair, metrics: ServiceMetrics
) -> None:
    # Seconds_Behind_Master is NULL while replication is stopped: that is not "no lag".
    async with cluster_store(mariadb_pair, metrics, replica_check_interval_s=0.1) as store:
        assert in_rotation(metrics) == 1
        mariadb_pair.pause_replication()
        await eventually(lambda: in_rotation(metrics) == 0)
        assert "stopped" in store.router.replicas[0].detail
        mariadb_pair.resume_replication()
        await eventually(lambda: in_rotation(metrics) == 1)


async def test_reads_rotate_over_replicas_in_rotation(
    mariadb_pair: MariaDBPair, metrics: ServiceMetrics
) -> None:
    async with cluster_store(mariadb_pair, metrics, pools_per_replica=2) as store:
        for _ in range(6):
            # One at a time: the replicas are equally idle, so round-robin decides.
            await store.list_profiles(offset=0, limit=1)
        assert queries(metrics, "replica0") == 3
        assert queries(metrics, "replica1") == 3
        assert queries(metrics, "master") == 0


async def test_replica_whose_lag_cannot_be_measured_stays_out_of_rotation(
    mariadb_pair: MariaDBPair, metrics: ServiceMetrics
) -> None:
    # A user without the REPLICA MONITOR privilege cannot run SHOW REPLICA STATUS: the
    # replica's freshness is unknown, so it must not serve reads.
    mariadb_pair.master.sql(
        "CREATE USER IF NOT EXISTS 'reader'@'127.0.0.1'; "
        "GRANT SELECT ON loadcap.* TO 'reader'@'127.0.0.1'"
    )
    mariadb_pair.wait_synced()
    replica_url = mariadb_pair.replica_url.replace("root@", "reader@")
    config = Settings().with_changes(
        db_url=mariadb_pair.master_url, replica_urls=(replica_url,), replica_check_interval_s=0.1
    )
    store = MySQLProfileStore(config, metrics)
    await store.open()
    try:
        await eventually(lambda: in_rotation(metrics) == 0)
        assert "probe failed" in store.router.replicas[0].detail
        await store.init_schema()
        assert await store.list_profiles(offset=0, limit=1) == []
        assert queries(metrics, "master") == 1
    finally:
        await store.close()


async def test_a_replica_serves_no_reads_before_its_lag_is_known(
    mariadb_pair: MariaDBPair, metrics: ServiceMetrics
) -> None:
    async with cluster_store(mariadb_pair, ServiceMetrics()):
        pass  # the schema, on both servers
    # Replication stopped before the service starts: the very first read must not see it.
    mariadb_pair.pause_replication()
    async with cluster_store(
        mariadb_pair, metrics, sync=False, replica_check_interval_s=60.0
    ) as store:
        assert in_rotation(metrics) == 0
        assert await store.list_profiles(offset=0, limit=1) == []
        assert queries(metrics, "replica0") == 0
        assert fallbacks(metrics, "lag") == 1
