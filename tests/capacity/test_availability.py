"""Composite availability from the published SLAs, beside the seed's 99.9 % = 43.8 min."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from capacity.availability import MINUTES_PER_MONTH, load_sla_book, plan_availability
from cli import app


def test_three_zones_with_a_multi_az_master_multiply_alb_ec2_and_rds() -> None:
    found = plan_availability(zones=3, multi_az_master=True)
    assert found.availability == pytest.approx(0.9999 * 0.9999 * 0.9995)
    assert found.downtime_minutes_per_month == pytest.approx(
        (1 - 0.9999 * 0.9999 * 0.9995) * 730 * 60
    )  # 30.7 min, under the seed's 43.8
    assert found.dominant.tier == "RDS master"


def test_one_zone_falls_to_the_instance_level_sla_and_ec2_dominates() -> None:
    found = plan_availability(zones=1, multi_az_master=True)
    assert found.availability == pytest.approx(0.9999 * 0.995 * 0.9995)
    assert found.dominant.tier == "EC2 app fleet"
    assert "--zones" in found.dominant.note


def test_a_single_az_master_dominates_a_spread_fleet() -> None:
    found = plan_availability(zones=3, multi_az_master=False)
    assert found.dominant.tier == "RDS master"
    assert "--multi-az" in found.dominant.note


def test_redis_and_the_replicas_are_soft_dependencies() -> None:
    found = plan_availability(zones=3, multi_az_master=True)
    soft = {t.tier for t in found.tiers if not t.counted}
    assert soft == {"ElastiCache Redis", "RDS read replicas"}


def test_active_active_regions_fail_only_together() -> None:
    one = plan_availability(zones=3, multi_az_master=True)
    two = plan_availability(zones=3, multi_az_master=True, regions=2)
    assert 1 - two.availability == pytest.approx((1 - one.availability) ** 2)


def test_every_sla_has_a_source_and_a_date() -> None:
    for key, tier in load_sla_book().tiers.items():
        assert tier.source.startswith("https://aws.amazon.com/"), key
        assert tier.date


def test_plan_json_carries_availability_and_downtime() -> None:
    result = CliRunner().invoke(app, ["plan", "--per-core-rps", "1000", "--zones", "3", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["availability"] == pytest.approx(0.9999 * 0.9999 * 0.9995, abs=1e-8)
    assert data["downtime_minutes_per_month"] == pytest.approx(
        (1 - data["availability"]) * MINUTES_PER_MONTH, abs=0.01
    )
    detail = data["availability_detail"]
    assert detail["dominant_tier"] == "RDS master"
    assert detail["seed_downtime_minutes_per_month"] == pytest.approx(43.8)
