"""Plans sized from service demand (Utilization Law), and honest about a capped run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from capacity.figures import Figure
from capacity.planner import PlanOptions, make_plan_request
from capacity.plans import PlanRequest, implied_cpu_share, instance_options, right_sized_plan
from capacity.pricing import load_price_book, parse_price_book
from capacity.runs import read_measured_run
from capacity.workload import Workload

PRICES = Path(__file__).parents[2] / "capacity" / "aws_prices.json"


def _book_with_a_4_vcpu_type() -> Any:
    raw = json.loads(PRICES.read_text(encoding="utf-8"))
    ec2 = raw["regions"]["us-east-1"]["ec2"]
    ec2["c6i.xlarge"] = {**ec2["c6i.large"], "hourly_usd": 0.17, "vcpu": 4, "memory_gib": 8}
    return parse_price_book(json.dumps(raw).encode(), origin="test")


def _request(**changes: Any) -> PlanRequest:
    values: dict[str, Any] = {
        "workload": Workload(target_rps=1000),
        "per_core_rps": Figure(300.0, "test"),
    }
    return PlanRequest(**{**values, **changes})


def test_instances_from_per_core_capacity_times_vcpus_for_two_instance_types() -> None:
    book = _book_with_a_4_vcpu_type()

    two = right_sized_plan(_request(instance_type="c6i.large"), book)
    four = right_sized_plan(_request(instance_type="c6i.xlarge"), book)

    # ceil(1000 / (300 x 2 x 0.7)) + 1 = ceil(2.381) + 1 = 4
    assert two.instances == 4
    # ceil(1000 / (300 x 4 x 0.7)) + 1 = ceil(1.190) + 1 = 3
    assert four.instances == 3
    assert "300.0 req/s per core x 4 vCPU" in four.sizing
    options = {o.instance_type: o.instances for o in instance_options(_request(), book)}
    assert options["c6i.large"] == 4 and options["c6i.xlarge"] == 3


def test_t3_credits_follow_the_cpu_share_the_plan_implies() -> None:
    book = load_price_book()
    request = _request(instance_type="t3.medium")

    plan = right_sized_plan(request, book)

    # 4 instances share 1000 req/s: each at 1000 / (4 x 300 x 2) = 41.7 % CPU
    share = implied_cpu_share(request, "t3.medium", plan.instances, book)
    assert share is not None
    assert share == pytest.approx(1000 / (4 * 300 * 2))
    credits = plan.cost.by_key()["ec2_cpu_credits"]
    assert credits == pytest.approx(4 * 2 * (share - 0.2) * 0.05 * 730, abs=0.01)


def _run_dir(tmp_path: Path, capacity: dict[str, Any], **extra: Any) -> Path:
    run = tmp_path / "run"
    run.mkdir()
    summary = {"totals": {"rps": 2900.0, "p95_ms": 30.0}, "capacity": capacity, **extra}
    (run / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    return run


def test_plan_from_a_generator_saturated_run_uses_demand_and_calls_the_observed_a_bound(
    tmp_path: Path,
) -> None:
    capacity = {
        "first_limit": "load_generator",
        "generator_saturated": True,
        "per_core_rps": 5000.0,
        "service_cpu_s_per_request": 0.0002,
        "cpu_model": "Test CPU",
    }
    run = _run_dir(tmp_path, capacity, capacity_rps=2900.0)

    facts = read_measured_run(run)
    request, notes = make_plan_request(PlanOptions(run_dir=run), load_price_book())

    assert "lower bound" in facts.per_instance_rps.source
    assert "load generator" in facts.per_instance_rps.source
    assert request.per_core_rps is not None and request.per_core_rps.value == 5000.0
    assert any("service demand" in note and "Test CPU" in note for note in notes)
    # ceil(1000 / (5000 x 2 x 0.7)) + 1 = 2
    assert right_sized_plan(request, load_price_book()).instances == 2


def test_a_run_without_demand_plans_on_the_observed_figure_labelled_a_lower_bound(
    tmp_path: Path,
) -> None:
    run = _run_dir(
        tmp_path, {"first_limit": "load_generator", "generator_saturated": True}, capacity_rps=900.0
    )

    facts = read_measured_run(run)

    assert facts.per_core_rps is None and facts.per_instance_rps.value == 900.0
    assert "lower bound" in facts.per_instance_rps.source
    assert any("lower bound" in note for note in facts.notes)


def test_demand_is_not_scaled_when_a_pool_was_the_limit(tmp_path: Path) -> None:
    capacity = {
        "first_limit": "db_pool",
        "per_core_rps": 5000.0,
        "service_cpu_s_per_request": 0.0002,
    }

    facts = read_measured_run(_run_dir(tmp_path, capacity, capacity_rps=1200.0))

    assert facts.per_core_rps is None and facts.per_instance_rps.value == 1200.0
