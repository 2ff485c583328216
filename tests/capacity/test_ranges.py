"""--target-rps LOW:MID:HIGH: the fleet at each load, its interval, the least-regret fleet."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from capacity.errors import CapacityInputError
from capacity.ranges import parse_target
from cli import app

T3_MONTHLY = 0.0416 * 730


def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def test_targets_parse_as_one_load_or_three_ascending() -> None:
    assert parse_target("1000") == (1000.0,)
    assert parse_target("600:1000:1500") == (600.0, 1000.0, 1500.0)
    for bad in ("600:1000", "1500:1000:600", "a:b:c", "0:1:2"):
        with pytest.raises(CapacityInputError):
            parse_target(bad)


def test_bad_range_is_a_one_line_error() -> None:
    result = invoke("plan", "--per-core-rps", "300", "--target-rps", "900:600:1200")
    assert result.exit_code == 2
    assert "must ascend" in result.output


def test_each_load_is_planned_and_the_least_regret_fleet_is_recommended() -> None:
    result = invoke(
        "plan", "--per-core-rps", "300", "--target-rps", "600:1000:1500", "--json",
        "--instance-type", "t3.medium",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["target_rps"] == 1000.0  # the plan itself is the mid one
    ranges = data["ranges"]
    # ceil(load / (300 x 2 x 0.7)) + 1: 600 -> 3, 1000 -> 4, 1500 -> 5
    assert [p["instances"] for p in ranges["points"]] == [3, 4, 5]
    # worst regret of 3: 2 short at 1,500 x 3 = 6 idle-equivalents; of 4: 1 short x 3 = 3;
    # of 5: 2 idle at 600 = 2: five instances regret least
    assert ranges["regrets"] == pytest.approx(
        {"3": 6 * T3_MONTHLY, "4": 3 * T3_MONTHLY, "5": 2 * T3_MONTHLY}, abs=0.01
    )
    assert ranges["recommended_instances"] == 5
    # with idle capacity counted as dear as a shortfall, the mid fleet regrets least
    cheap = invoke(
        "plan", "--per-core-rps", "300", "--target-rps", "600:1000:1500", "--json",
        "--short-cost-factor", "1",
    )  # fmt: skip
    assert json.loads(cheap.stdout)["ranges"]["recommended_instances"] == 4


def test_the_interval_comes_from_d_spread_over_the_stages(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    summary = {
        "totals": {"rps": 500.0, "p95_ms": 8.0},
        "capacity": {
            "first_limit": "none", "per_core_rps": 300.0, "service_cpu_s_per_request": 1 / 300,
        },
        "use": [
            {"users": 1, "rps": 100.0, "service_cpu_s_per_request": 1 / 200,
             "service_requests": 1000},
            {"users": 5, "rps": 500.0, "service_cpu_s_per_request": 1 / 400,
             "service_requests": 5000},
        ],
    }  # fmt: skip
    (run / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    result = invoke("plan", "--from", str(run), "--target-rps", "600:1000:1500", "--json")
    assert result.exit_code == 0, result.output
    high = json.loads(result.stdout)["ranges"]["points"][2]
    # 1,500 req/s: at 400 req/s per core ceil(1500 / 560) + 1 = 4; at 200, ceil(1500 / 280) + 1 = 7
    assert (high["instances_low"], high["instances_high"]) == (4, 7)
    assert "spread" in json.loads(result.stdout)["ranges"]["interval_source"]
