"""The app fleet sized for a p95 objective by M/M/c, over zones, beside the 70 % rule."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import msgspec
import pytest
from typer.testing import CliRunner

from capacity.figures import Figure
from capacity.planner import PlanOptions, make_plan_request
from capacity.pricing import load_price_book
from capacity.slo_sizing import (
    LatencyObjective,
    ServerRate,
    ZonePlacement,
    predicted_p95_ms,
    size_for_latency,
)
from capacity.usl import UslFit
from cli import app

RATE = ServerRate(per_server_rps=Figure(100.0, "test"), servers_per_instance=2)


def objective(p95_ms: float, floor_ms: float = 0.0) -> LatencyObjective:
    return LatencyObjective(p95_ms=Figure(p95_ms, "test"), floor_ms=Figure(floor_ms, "test"))


def test_the_fewest_instances_whose_predicted_p95_meets_the_objective() -> None:
    sizing = size_for_latency(
        700.0,
        objective=objective(40.0),
        rate=RATE,
        placement=ZonePlacement(redundancy=0),
        rule_of_thumb_instances=5,
    )
    n = sizing.serving_instances
    assert predicted_p95_ms(700.0, n, RATE, 0.0) <= 40.0 < predicted_p95_ms(700.0, n - 1, RATE, 0)
    assert sizing.instances == n and sizing.servers == 2 * n
    assert sizing.utilization == pytest.approx(700 / (2 * n * 100))
    assert sizing.rule_of_thumb_instances == 5


def test_a_tighter_objective_needs_more_instances_and_the_floor_counts() -> None:
    def serving(slo: float, floor: float = 0.0) -> int:
        return size_for_latency(
            700.0,
            objective=objective(slo, floor),
            rate=RATE,
            placement=ZonePlacement(redundancy=0),
            rule_of_thumb_instances=5,
        ).serving_instances

    # 700 req/s over 2 x 100 req/s servers per instance: p95 43.2, 31.0, 30.1 ms at 4, 5, 6
    assert serving(30.5) == 6 > serving(35.0) == 5
    assert serving(40.5, floor=10.0) == serving(30.5)


def test_the_serving_fleet_never_runs_above_85_percent() -> None:
    sizing = size_for_latency(
        700.0,
        objective=objective(100.0),
        rate=RATE,
        placement=ZonePlacement(redundancy=0),
        rule_of_thumb_instances=5,
    )
    # 4 instances meet 100 ms (p95 43 ms) but at 87.5 % CPU: 5 (70 %) are planned
    assert predicted_p95_ms(700.0, 4, RATE, 0.0) <= 100.0
    assert sizing.serving_instances == 5 and sizing.utilization == pytest.approx(0.7)


def test_an_objective_below_one_service_time_is_unreachable() -> None:
    # p95 of one exponential service alone is ln 20 / 100 s = 30 ms: no fleet does 25 ms
    sizing = size_for_latency(
        700.0,
        objective=objective(25.0),
        rate=RATE,
        placement=ZonePlacement(),
        rule_of_thumb_instances=5,
    )
    assert not sizing.reachable and sizing.instances == 0
    assert "no fleet" in sizing.sentence()


def test_surviving_a_zone_loss_spreads_evenly_with_the_survivors_enough() -> None:
    zones = ZonePlacement(zones=3, survive_zone_loss=True)
    assert zones.fleet(4) == 6  # 2 per zone: 4 remain when a zone goes
    assert zones.fleet(5) == 9  # 3 per zone: 6 >= 5 remain
    assert ZonePlacement(zones=3, survive_zone_loss=False, redundancy=1).fleet(4) == 6
    assert ZonePlacement(zones=1, redundancy=1).fleet(4) == 5


def test_contention_from_a_usl_fit_makes_the_fleet_larger() -> None:
    fit = UslFit(
        sigma=0.05, kappa=0.001, lam=200.0, sigma_se=0, kappa_se=0, lambda_se=0,
        r_squared=1.0, residual_se=0, points=5, n_max_measured=8,
    )  # fmt: skip
    capped = ServerRate(per_server_rps=Figure(100.0, "test"), servers_per_instance=2, fit=fit)

    def serving(rate: ServerRate, target: float) -> int:
        return size_for_latency(
            target, objective=objective(200.0), rate=rate, placement=ZonePlacement(redundancy=0),
            rule_of_thumb_instances=1,
        ).serving_instances  # fmt: skip

    # each instance's rate falls as X(N) / (N X(1)): X(13) = 1,481 < 1,500 <= X(14) = 1,528
    assert serving(capped, 1500.0) >= 14 > serving(RATE, 1500.0)
    # X(N) peaks near 2,000 req/s (N* ~ 31): beyond it no fleet serves the load
    assert serving(capped, 5000.0) == 0


def _run(tmp_path: Path) -> Path:
    run = tmp_path / "run"
    run.mkdir()
    summary: dict[str, Any] = {
        "totals": {"rps": 50.0, "p95_ms": 6.0},
        "slo": {"p95_ms": 100.0},
        "capacity": {
            "first_limit": "none", "per_core_rps": 1000.0, "service_cpu_s_per_request": 0.001,
        },
        "use": [
            {"users": 1, "rps": 50.0, "p95_ms": 6.0},
            {"users": 5, "rps": 240.0, "p95_ms": 9.0},
        ],
    }  # fmt: skip
    (run / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    return run


def test_the_run_gives_the_objective_and_the_floor(tmp_path: Path) -> None:
    request, _ = make_plan_request(PlanOptions(run_dir=_run(tmp_path)), load_price_book())

    assert request.latency is not None
    assert request.latency.p95_ms == Figure(100.0, "the SLO of run")
    # the lightest stage's p95 (6 ms at 50 req/s) less ln 20 x D (3.0 ms)
    assert request.latency.floor_ms.value == pytest.approx(6.0 - math.log(20))
    assert "50.0 req/s" in request.latency.floor_ms.source


def test_plan_json_has_slo_sizing_and_zones(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["plan", "--from", str(_run(tmp_path)), "--slo-p95-ms", "20", "--zones", "3",
         "--instance-type", "c6i.large", "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    slo = data["slo_sizing"]
    assert slo["model"] == "mmc" and slo["slo_p95_ms"] == 20.0
    assert slo["servers"] == slo["instances"] * 2
    assert slo["predicted_p95_serving_ms"] <= 20.0
    assert slo["rule_of_thumb_instances"] == 2  # ceil(1000 / (1000 x 2 x 0.7)) + 1
    assert data["instances"] == slo["instances"] == 3 * math.ceil(slo["serving_instances"] / 2)
    assert data["zones"] == 3
    zones = data["zone_headroom"]
    assert sum(zones["instances_per_zone"]) == data["instances"]
    assert len(set(zones["instances_per_zone"])) == 1
    assert zones["headroom_monthly_usd"] == pytest.approx(
        zones["headroom_instances"] * 0.085 * 730, abs=0.01
    )


def test_an_unreachable_objective_is_a_one_line_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["plan", "--from", str(_run(tmp_path)), "--slo-p95-ms", "5"])
    assert result.exit_code == 2
    assert "no fleet" in result.output


def test_the_seed_is_judged_by_the_same_model_and_slas(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["plan", "--from", str(_run(tmp_path)), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    seed = data["seed"]
    # 100 x t3.medium = 200 servers at 1,000 req/s per core: almost no queue, so the p95 is
    # the floor plus one service time's p95 (ln 20 x 1 ms), the lightest stage's 6 ms
    assert seed["predicted_p95_ms"] == pytest.approx(6.0, abs=0.01)
    # as written: one zone (EC2 99.5 %), a Single-AZ master (99.5 %), the ALB 99.99 %
    assert seed["availability"] == pytest.approx(0.9999 * 0.995 * 0.995, abs=1e-8)
    assert seed["downtime_minutes_per_month"] > 43.8


def test_plan_json_decodes_into_its_schema(tmp_path: Path) -> None:
    from rundir.plan_json import PlanDocument

    result = CliRunner().invoke(
        app,
        ["plan", "--from", str(_run(tmp_path)), "--slo-p95-ms", "100", "--zones", "3",
         "--survive-zone-loss", "--target-rps", "600:1000:1500", "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    document = msgspec.json.decode(result.stdout.encode(), type=PlanDocument, strict=True)
    assert document.slo_sizing is not None and document.zone_headroom is not None
    assert document.ranges is not None and document.availability_detail is not None


def test_a_run_slo_out_of_reach_falls_back_to_the_rule_and_says_why(tmp_path: Path) -> None:
    run = _run(tmp_path)
    summary = json.loads((run / "summary.json").read_text(encoding="utf-8"))
    summary["slo"] = {"p95_ms": 5.0}  # below the 6 ms the lightest stage already took
    (run / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    result = CliRunner().invoke(app, ["plan", "--from", str(run), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["slo_sizing"] is None
    assert data["instances"] == 2  # the rule: ceil(1000 / (1000 x 2 x 0.7)) + 1
    assert "out of reach" in data["sizing"]
