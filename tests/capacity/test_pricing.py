"""The price file: schema validated on load, the issue's prices present, overridable."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from capacity.errors import CapacityInputError
from capacity.pricing import HOURS_PER_MONTH, load_price_book, parse_price_book

BUNDLED = Path(__file__).parents[2] / "capacity" / "aws_prices.json"


def bundled_json() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(BUNDLED.read_text(encoding="utf-8"))
    return data


def test_bundled_file_holds_the_us_east_1_list_prices() -> None:
    book = load_price_book()
    region = "us-east-1"
    ec2 = {"t3.medium": 0.0416, "c6i.large": 0.085, "c7g.large": 0.0725, "m6i.large": 0.096}
    for instance_type, hourly in ec2.items():
        assert book.ec2(region, instance_type).hourly_usd == hourly
    assert book.rds(region, "db.r5.large").hourly_usd == 0.24
    assert book.rds(region, "db.r5.large").multi_az_hourly_usd == 0.48
    assert book.rds(region, "db.r5.xlarge").hourly_usd == 0.48
    assert book.rds(region, "db.r5.xlarge").multi_az_hourly_usd == 0.96
    assert book.cache_node(region, "cache.r6g.large").hourly_usd == 0.206
    alb = book.region(region).alb
    assert (alb.hourly_usd, alb.lcu_hourly_usd) == (0.0225, 0.008)
    assert alb.lcu.new_connections_per_s == 25
    assert alb.lcu.active_connections_per_min == 3000
    cw = book.region(region).cloudwatch
    assert (cw.custom_metric_month_usd, cw.alarm_month_usd) == (0.30, 0.10)
    assert (cw.dashboard_month_usd, cw.logs_ingested_gb_usd) == (3.00, 0.50)


def test_every_bundled_price_names_its_source_and_date() -> None:
    region = bundled_json()["regions"]["us-east-1"]
    entries = [*region["ec2"].values(), *region["rds_mysql"].values()]
    entries += [*region["elasticache"].values(), region["alb"], region["cloudwatch"]]
    for entry in entries:
        assert entry["source"].startswith("https://")
        assert len(entry["date"]) == 10


def test_monthly_is_hourly_times_730() -> None:
    book = load_price_book()
    assert HOURS_PER_MONTH == book.hours_per_month == 730
    assert book.monthly(0.0416) == pytest.approx(30.368)


def test_a_user_file_overrides_the_bundled_prices(tmp_path: Path) -> None:
    data = bundled_json()
    data["regions"]["us-east-1"]["ec2"]["t3.medium"]["hourly_usd"] = 0.05
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    assert load_price_book(path).ec2("us-east-1", "t3.medium").hourly_usd == 0.05


def _mutated(change: str) -> bytes:
    data = bundled_json()
    t3 = data["regions"]["us-east-1"]["ec2"]["t3.medium"]
    if change == "negative price":
        t3["hourly_usd"] = -1
    elif change == "no source":
        del t3["source"]
    elif change == "bad date":
        t3["date"] = "last week"
    elif change == "unknown field":
        t3["discount"] = 0.5
    elif change == "price as text":
        t3["hourly_usd"] = "0.04"
    elif change == "future schema":
        data["schema_version"] = 2
    return json.dumps(data).encode()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("negative price", r"hourly_usd"),
        ("no source", r"missing required field `source`"),
        ("bad date", r"date"),
        ("unknown field", r"discount"),
        ("price as text", r"Expected `float`"),
        ("future schema", r"schema_version 2"),
    ],
)
def test_invalid_price_files_are_rejected_with_the_field_named(change: str, message: str) -> None:
    with pytest.raises(CapacityInputError, match=message):
        parse_price_book(_mutated(change), origin="p.json")


@pytest.mark.parametrize(("raw", "message"), [(b"", "empty"), (b"{not json", "not valid JSON")])
def test_unreadable_price_files_are_rejected(raw: bytes, message: str) -> None:
    with pytest.raises(CapacityInputError, match=message):
        parse_price_book(raw, origin="p.json")


def test_unknown_type_or_region_lists_what_the_file_has() -> None:
    book = load_price_book()
    with pytest.raises(
        CapacityInputError, match=r"unknown EC2 instance type 'z9\.huge'.*t3\.medium"
    ):
        book.ec2("us-east-1", "z9.huge")
    with pytest.raises(CapacityInputError, match=r"unknown region 'mars-1'.*us-east-1"):
        book.region("mars-1")
