"""Regions: refused by name without sourced prices; active-active priced region by region."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cli import app

PRICES = Path(__file__).parents[2] / "capacity" / "aws_prices.json"


def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def test_a_region_without_sourced_prices_is_refused_by_name() -> None:
    for flags in (["--region", "eu-south-2"], ["--regions", "us-east-1,eu-south-2"]):
        result = invoke("plan", "--per-core-rps", "1000", *flags)
        assert result.exit_code == 2
        assert "'eu-south-2'" in result.output and "no sourced prices" in result.output


def test_regions_must_be_two_or_more_different_ones() -> None:
    result = invoke("plan", "--per-core-rps", "1000", "--regions", "us-east-1,us-east-1")
    assert result.exit_code == 2
    assert "different regions" in result.output


@pytest.fixture
def two_regions(tmp_path: Path) -> Path:
    """A price file with a second region: us-east-1's prices under another name (test data)."""
    raw = json.loads(PRICES.read_text(encoding="utf-8"))
    second = json.loads(json.dumps(raw["regions"]["us-east-1"]))
    second["rds_mysql"]["db.r5.large"]["hourly_usd"] = 0.30
    del second["inter_region_transfer"]
    raw["regions"]["test-west-9"] = second
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    return path


def test_active_active_sizes_each_region_and_prices_the_replication(two_regions: Path) -> None:
    result = invoke(
        "plan", "--per-core-rps", "1000", "--regions", "us-east-1,test-west-9",
        "--region-share", "0.75", "--prices", str(two_regions), "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    regions = data["regions"]
    primary, secondary = regions["regions"]
    assert primary["region"] == "us-east-1" and "writer" in primary["role"]
    assert primary["target_rps"] == secondary["target_rps"] == 750.0
    # the secondary buys a Single-AZ promotable replica of the master's class, not a master
    assert secondary["cost"]["rds_master"] == pytest.approx(0.30 * 730)
    # 1,000 req/s x 10 % writes x 400 B x 730 h x 3,600 s = 105.1 GB at $0.02
    gb = 1000 * 0.10 * 400 * 730 * 3600 / 1e9
    assert regions["replication"]["monthly_usd"] == pytest.approx(gb * 0.02, abs=0.01)
    total = sum(r["cost"]["monthly_total_usd"] for r in regions["regions"])
    assert regions["monthly_total_usd"] == pytest.approx(
        total + regions["replication"]["monthly_usd"], abs=0.02
    )
    assert data["availability_detail"]["regions"] == 2


def test_a_primary_without_a_transfer_price_is_refused(two_regions: Path) -> None:
    result = invoke(
        "plan", "--per-core-rps", "1000", "--regions", "test-west-9,us-east-1",
        "--prices", str(two_regions),
    )  # fmt: skip
    assert result.exit_code == 2
    assert "test-west-9 has no sourced inter-region transfer price" in result.output
