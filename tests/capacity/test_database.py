"""Replica count from the measured replica share and per-replica capacity (Little's law)."""

from __future__ import annotations

import pytest

from capacity.database import DatabaseAssumptions, replica_capacity, size_database
from capacity.pricing import load_price_book
from capacity.workload import Workload

BOOK = load_price_book()
WORKLOAD = Workload(target_rps=10_000, cache_hit_ratio=0.5)  # 9,000 reads/s, 4,500 miss


def test_per_replica_capacity_by_littles_law_from_the_measured_query_time() -> None:
    measured = DatabaseAssumptions(replica_query_ms=2.0)
    rps, basis = replica_capacity(measured, BOOK, "us-east-1")
    # db.r5.large: 2 vCPUs; X = N / R = 2 / 0.002 s
    assert rps == pytest.approx(1_000)
    assert "Little" in basis and "2 ms" in basis
    assert replica_capacity(DatabaseAssumptions(), BOOK, "us-east-1") == (500.0, "assumed")


def test_replicas_carry_only_the_share_of_reads_they_served() -> None:
    full = size_database(
        WORKLOAD,
        app_instances=10,
        utilization=0.7,
        book=BOOK,
        region="us-east-1",
        assumptions=DatabaseAssumptions(replica_query_ms=2.0),
    )
    # 4,500 replica queries/s / (1,000 x 0.7) = 6.4 -> 7
    assert full.replicas == 7
    assert full.replica_read_rps == pytest.approx(4_500)
    half = size_database(
        WORKLOAD,
        app_instances=10,
        utilization=0.7,
        book=BOOK,
        region="us-east-1",
        assumptions=DatabaseAssumptions(replica_query_ms=2.0, replica_read_share=0.5),
    )
    assert half.replicas == 4
    assert half.replica_read_rps == pytest.approx(2_250)
    assert any("go to the master" in w for w in half.warnings)
    master = next(n for n in half.connections if n.node == "master")
    # writes 1,000/s + master reads 2,250/s, each holding a connection 50 ms
    assert master.busy_connections == pytest.approx((1_000 + 2_250) * 0.05)


def test_a_given_replica_count_above_the_need_is_called_out() -> None:
    small = Workload(target_rps=1_000)  # seed mix and hit ratio: 270 cache-missing reads/s
    seed = size_database(
        small,
        app_instances=100,
        utilization=0.7,
        book=BOOK,
        region="us-east-1",
        assumptions=DatabaseAssumptions(replica_query_ms=1.0),
        replicas=3,
    )
    assert (seed.replicas, seed.replicas_needed) == (3, 1)
    assert any("3 replicas are more than the reads need" in w for w in seed.warnings)
