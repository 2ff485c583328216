"""Plan arithmetic on hand-computed cases, including the seed's own numbers."""

from __future__ import annotations

import msgspec
import pytest

from capacity.cache_tier import CacheAssumptions, size_cache
from capacity.database import DatabaseAssumptions, rds_max_connections, size_database
from capacity.figures import Figure
from capacity.growth import project_growth
from capacity.plans import PlanRequest, instance_options, right_sized_plan, seed_plan_priced
from capacity.pricing import load_price_book
from capacity.report import build_report, plan_document
from capacity.seed import reconcile_seed, seed_cost_as_written
from capacity.workload import Workload
from rundir.mix import Mix

BOOK = load_price_book()
SEED_WORKLOAD = Workload(target_rps=1000)


def request(**changes: object) -> PlanRequest:
    values: dict[str, object] = {
        "workload": SEED_WORKLOAD,
        "per_instance_rps": Figure(250.0, "test"),
    }
    values.update(changes)
    return PlanRequest(**values)  # type: ignore[arg-type]


def test_seed_table_as_written_totals_4800() -> None:
    table = seed_cost_as_written()
    assert table.monthly_total_usd == 4800
    assert table.by_key() == {
        "ec2": 3000,
        "rds_master": 500,
        "rds_replicas": 750,
        "elasticache": 300,
        "alb": 100,
        "cloudwatch": 150,
    }


def test_seed_fleet_priced_from_the_price_file() -> None:
    plan = seed_plan_priced(request(database=DatabaseAssumptions(multi_az_master=False)), BOOK)
    cost = plan.cost.by_key()
    assert plan.instances == 100
    assert cost["ec2"] == pytest.approx(100 * 0.0416 * 730)  # 3,036.80, not 3,000
    assert cost["rds_master"] == pytest.approx(0.48 * 730)  # 350.40 Single-AZ
    assert cost["rds_replicas"] == pytest.approx(3 * 0.24 * 730)  # 525.60
    assert cost["elasticache"] == pytest.approx(0.206 * 730)  # 150.38 for one node
    assert "ec2_cpu_credits" not in cost
    assert plan.database.replicas == 3


def test_seed_reconciliation_shows_the_arithmetic() -> None:
    lines = {r.key: r.explanation for r in reconcile_seed(BOOK, "us-east-1")}
    assert "$3,036.80" in lines["ec2"] and "$30.37 per instance" in lines["ec2"]
    assert "$350.40 Single-AZ" in lines["rds_master"]
    assert "$700.80 Multi-AZ" in lines["rds_master"]
    assert "$525.60" in lines["rds_replicas"]
    assert "two nodes ($300.76)" in lines["elasticache"]


def test_seed_connections_trigger_a_warning_on_each_replica() -> None:
    plan = seed_plan_priced(request(), BOOK)
    replica = next(n for n in plan.database.connections if n.node == "each replica")
    assert replica.connections == 1000  # 100 instances x pool 10
    assert replica.max_connections == rds_max_connections(16) == 1365
    assert replica.warning is not None and "1,000 connections" in replica.warning
    assert any("1,000 connections" in w for w in plan.warnings)


def test_connections_beyond_max_connections_are_called_refused() -> None:
    tier = size_database(
        SEED_WORKLOAD,
        app_instances=200,
        utilization=0.7,
        book=BOOK,
        region="us-east-1",
        assumptions=DatabaseAssumptions(),
    )
    assert all(n.warning and "refused" in n.warning for n in tier.connections)


def test_right_sized_plan_hand_computed() -> None:
    plan = right_sized_plan(request(), BOOK)
    # ceil(1000 / (250 x 0.7)) + 1 = ceil(5.714) + 1 = 7
    assert plan.instances == 7
    cost = plan.cost.by_key()
    assert cost["ec2"] == pytest.approx(7 * 0.0416 * 730, abs=0.01)
    # t3 credits above the 20% baseline at 70%: 7 x 2 vCPU x 0.5 x $0.05 x 730
    assert cost["ec2_cpu_credits"] == pytest.approx(7 * 2 * 0.5 * 0.05 * 730, abs=0.01)
    assert cost["rds_master"] == pytest.approx(0.48 * 730, abs=0.01)  # db.r5.large Multi-AZ
    # 900 reads/s x 30% misses = 270/s; 270 / (500 x 0.7) -> 1 replica
    assert plan.database.replicas == 1
    assert plan.database.db_read_rps == pytest.approx(270)
    assert plan.warnings == []
    assert plan.cost.monthly_total_usd == pytest.approx(sum(cost.values()), abs=0.05)


def test_replicas_follow_cache_misses() -> None:
    workload = Workload(target_rps=10_000, cache_hit_ratio=0.5)
    tier = size_database(
        workload,
        app_instances=10,
        utilization=0.7,
        book=BOOK,
        region="us-east-1",
        assumptions=DatabaseAssumptions(replica_rps=1000),
    )
    # 9,000 reads x 0.5 = 4,500/s over 700/s per replica -> 7
    assert tier.replicas == 7


def test_cheapest_instance_type_counts_t3_cpu_credits() -> None:
    options = instance_options(request(), BOOK)
    assert options[0].instance_type == "c7g.large"
    t3 = next(o for o in options if o.instance_type == "t3.medium")
    assert t3.monthly_usd == pytest.approx(7 * (0.0416 + 0.05) * 730, abs=0.01)
    assert all(o.instances == 7 for o in options)  # all 2-vCPU types: same count


def test_redis_memory_is_bounded_by_reads_within_the_ttls() -> None:
    tier = size_cache(SEED_WORKLOAD, book=BOOK, region="us-east-1", assumptions=CacheAssumptions())
    assert tier.profile_keys == 100 * 300  # 100 GETs/s for 300 s
    assert tier.list_keys == 800 * 60  # 800 list requests/s for 60 s
    assert tier.memory_bytes == 30_000 * 500 + 48_000 * (20 * 400 + 100)
    assert tier.warning is None


def test_redis_memory_warns_when_a_node_is_too_small() -> None:
    big = CacheAssumptions(row_bytes=Figure(200_000, "test"))
    tier = size_cache(SEED_WORKLOAD, book=BOOK, region="us-east-1", assumptions=big)
    assert tier.warning is not None and "GiB" in tier.warning


def test_growth_at_the_seed_mix_reaches_100_million_in_23_days() -> None:
    growth = project_growth(SEED_WORKLOAD, row_bytes=400)
    assert growth.creates_per_s == pytest.approx(50)
    assert growth.rows_per_day == pytest.approx(4_320_000)
    assert growth.days_to_threshold == pytest.approx(100_000_000 / 4_320_000)
    assert "23 days" in growth.sentence()


def test_growth_without_creates_never_reaches_the_threshold() -> None:
    reads_only = Workload(target_rps=1000, mix=Mix(list=0.9, get=0.1, create=0, patch=0))
    growth = project_growth(reads_only, row_bytes=400)
    assert growth.days_to_threshold is None
    assert "does not grow" in growth.sentence()


def test_report_json_has_the_contract_fields() -> None:
    data = msgspec.to_builtins(plan_document(build_report(request(), BOOK, notes=[])))
    assert data["instances"] == 7
    cost = data["cost"]
    items = {k: v for k, v in cost.items() if k != "monthly_total_usd"}
    assert set(items) >= {"ec2", "rds_master", "rds_replicas", "elasticache", "alb", "cloudwatch"}
    assert cost["monthly_total_usd"] == pytest.approx(sum(items.values()), abs=0.05)
    assert data["seed"]["as_written"]["monthly_total_usd"] == 4800
    assert data["seed"]["priced"]["instances"] == 100
    assert data["cheapest_instance_type"]["instance_type"] == "c7g.large"
    assert data["growth"]["rows_per_day"] == pytest.approx(4_320_000)
