"""`loadcap fit` and `loadcap plan` through typer's CliRunner: exit codes and output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cli import app

runner = CliRunner()

SPECSDM91 = (
    "load,throughput\n1,64.9\n18,995.9\n36,1652.4\n72,1853.2\n108,1828.9\n144,1775.0\n216,1702.2\n"
)


def invoke(*args: str) -> Any:
    return runner.invoke(app, list(args))


@pytest.fixture
def specsdm91(tmp_path: Path) -> Path:
    path = tmp_path / "specsdm91.csv"
    path.write_text(SPECSDM91, encoding="utf-8")
    return path


def test_fit_json_has_the_contract_fields(specsdm91: Path) -> None:
    result = invoke("fit", str(specsdm91), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["sigma"] == pytest.approx(0.0277285, rel=1e-3)
    assert data["kappa"] == pytest.approx(0.0001044, rel=1e-3)
    assert data["lambda"] == pytest.approx(89.995, rel=1e-4)
    assert data["peak_n"] == pytest.approx(96.5, abs=0.1)
    assert data["peak_throughput"] == pytest.approx(1883.9, abs=0.5)


def test_fit_prints_a_summary_and_draws_the_plot(specsdm91: Path, tmp_path: Path) -> None:
    plot = tmp_path / "fit.png"
    result = invoke("fit", str(specsdm91), "--plot", str(plot))
    assert result.exit_code == 0, result.output
    assert "sigma  (contention) = 0.0277" in result.stdout
    assert "N* = 96.5" in result.stdout
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "empty"),
        ("n,x\n1,10\n2,20\n3,30\n", "at least 4"),
        ("n,x\n1,10\n2,20\n2,30\n4,40\n", "duplicate N"),
        ("n,x\n1,10\n2,-20\n3,30\n4,40\n", "throughput must be positive"),
        ("n,x\n0,10\n2,20\n3,30\n4,40\n", "N must be positive"),
        ("n,x\n1,10\n2,abc\n3,30\n4,40\n", "not a number"),
        ("1,10\n2,20\n3,30\n4,40\n", "missing header"),
        ("threads,x\n1,10\n2,20\n3,30\n4,40\n", "unknown first column"),
    ],
)
def test_fit_bad_csv_exits_2_with_one_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "m.csv"
    path.write_text(content, encoding="utf-8")
    result = invoke("fit", str(path))
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_fit_missing_file_exits_2(tmp_path: Path) -> None:
    result = invoke("fit", str(tmp_path / "absent.csv"))
    assert result.exit_code == 2
    assert "cannot read" in result.stderr


def test_plan_json_contract_for_the_seed_numbers() -> None:
    result = invoke("plan", "--per-instance-rps", "10", "--utilization", "1", "--redundancy", "0",
                    "--single-az", "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["instances"] == 100
    assert data["cost"]["ec2"] == pytest.approx(3036.80)
    assert data["cost"]["rds_master"] == pytest.approx(175.20)  # right-sized: db.r5.large
    assert data["seed"]["as_written"]["monthly_total_usd"] == 4800
    assert data["seed"]["priced"]["cost"]["rds_master"] == pytest.approx(350.40)
    warnings = " ".join(data["warnings"])
    assert "1,000 connections" in warnings


def test_plan_from_a_run_directory(tmp_path: Path) -> None:
    run_dir = tmp_path / "run-1"
    run_dir.mkdir()
    summary = {
        "totals": {"requests": 9000, "failures": 0, "error_rate": 0.0, "rps": 150.0,
                   "p50_ms": 5, "p95_ms": 31.0, "p99_ms": 60},
        "endpoints": [
            {"name": "GET /api/profiles", "requests": 7200, "share": 0.8},
            {"name": "GET /api/profile/{id}", "requests": 900, "share": 0.1},
            {"name": "POST /api/profiles", "requests": 450, "share": 0.05},
            {"name": "PATCH /api/profile/{id}", "requests": 450, "share": 0.05},
        ],
        "capacity_rps": 200.0,
        "server": {"cache_hit_ratio": 0.9},
    }  # fmt: skip
    (run_dir / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    result = invoke("plan", "--from", str(run_dir), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["per_instance_rps"] == 200.0
    assert data["instances"] == 9  # ceil(1000 / (200 x 0.7)) + 1 = 8 + 1
    assert data["cache_hit_ratio"] == 0.9
    assert data["p95_ms"] == 31.0
    assert data["database"]["db_read_rps"] == pytest.approx(90.0)  # 900 x 10% misses


def test_plan_markdown_shows_seed_and_right_sized_side_by_side() -> None:
    result = invoke("plan", "--per-instance-rps", "250", "--md")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "| line item | seed as written | seed priced | right-sized |" in out
    assert "**$4,800.00**" in out
    assert "$3,036.80 (t3.medium x 100)" in out
    assert "23 days" in out


def test_plan_csv_lists_every_line_item_per_plan() -> None:
    result = invoke("plan", "--per-instance-rps", "250", "--csv")
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "plan,key,resource,spec,monthly_usd,arithmetic"
    assert any(line.startswith("seed as written,total,Total,,4800.00") for line in lines)


def test_plan_terminal_output_with_autoscaling_and_chart(tmp_path: Path) -> None:
    chart = tmp_path / "plan.png"
    result = invoke("plan", "--per-instance-rps", "250", "--autoscale-peak", "1000",
                    "--chart", str(chart))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Autoscaling over a day" in result.stdout
    assert chart.stat().st_size > 10_000


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--per-instance-rps", "10", "--utilization", "0"], "utilization must be in (0, 1]"),
        (["--per-instance-rps", "10", "--utilization", "1.5"], "utilization must be in (0, 1]"),
        (["--per-instance-rps", "10", "--redundancy", "-1"], "redundancy must be 0 or more"),
        (["--per-instance-rps", "10", "--instance-type", "x1.tiny"], "unknown EC2 instance type"),
        (["--per-instance-rps", "10", "--region", "mars-1"], "unknown region"),
        (["--per-instance-rps", "-3"], "per_instance_rps must be a positive"),
        (["--per-instance-rps", "10", "--json", "--md"], "choose one of"),
        ([], "give --per-instance-rps"),
    ],
)
def test_plan_bad_flags_exit_2_with_one_line(args: list[str], message: str) -> None:
    result = invoke("plan", *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_plan_from_a_directory_without_summary_exits_2(tmp_path: Path) -> None:
    result = invoke("plan", "--from", str(tmp_path))
    assert result.exit_code == 2
    assert "no summary.json" in result.stderr


def test_plan_from_a_mistyped_directory_says_it_is_not_one(tmp_path: Path) -> None:
    result = invoke("plan", "--from", str(tmp_path / "runs" / "typo"))
    assert result.exit_code == 2
    assert "not a directory" in result.stderr


def test_plan_with_a_usl_fit_sizes_from_x_of_n(tmp_path: Path) -> None:
    # X(N) = 200N / (1 + 0.05(N-1)) over instance counts; at 70% the fleet must model
    # 1000 / 0.7 = 1428.6 req/s: X(10) = 1379.3 falls short, X(11) = 1466.7 carries it.
    rows = "\n".join(f"{n},{200 * n / (1 + 0.05 * (n - 1))}" for n in (1, 2, 4, 8, 16))
    path = tmp_path / "instances.csv"
    path.write_text("instances,rps\n" + rows + "\n", encoding="utf-8")
    result = invoke("plan", "--fit", str(path), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["instances"] == 12  # 11 serving + 1 spare
    assert data["usl"]["sigma"] == pytest.approx(0.05, abs=1e-6)
    assert "USL X(N)" in data["sizing"]


def test_plan_measures_rows_in_a_sqlite_database(tmp_path: Path) -> None:
    from tests.capacity.test_growth_measure import make_db

    db = make_db(tmp_path / "p.db", 500)
    result = invoke("plan", "--per-instance-rps", "250", "--sqlite-db", str(db), "--json")
    assert result.exit_code == 0, result.output
    growth = json.loads(result.stdout)["growth"]
    assert growth["row_bytes_source"] == "measured in p.db"
    assert 320 < growth["row_bytes"] < 1000


def test_plan_autoscales_a_profile_csv(tmp_path: Path) -> None:
    path = tmp_path / "day.csv"
    path.write_text(
        "hour,rps\n" + "\n".join(f"{h},{350 if h >= 12 else 175}" for h in range(24)) + "\n",
        encoding="utf-8",
    )
    result = invoke("plan", "--per-instance-rps", "250", "--autoscale", str(path), "--json")
    assert result.exit_code == 0, result.output
    day = json.loads(result.stdout)["autoscale"]
    # 175 req/s -> 1 serving + 1; 350 req/s -> 2 serving + 1: 12 x 2 + 12 x 3 instance-hours
    assert day["instance_hours_per_day"] == 60
    assert day["fixed_instances"] == 3


def test_plan_uses_a_price_file_override(tmp_path: Path) -> None:
    bundled = Path(__file__).parents[2] / "capacity" / "aws_prices.json"
    data = json.loads(bundled.read_text(encoding="utf-8"))
    data["regions"]["us-east-1"]["ec2"]["t3.medium"]["hourly_usd"] = 0.1
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps(data), encoding="utf-8")
    result = invoke("plan", "--per-instance-rps", "10", "--utilization", "1", "--redundancy",
                    "0", "--prices", str(prices), "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["cost"]["ec2"] == pytest.approx(100 * 0.1 * 730)


def test_autoscale_from_a_per_core_figure_uses_per_core_x_vcpus() -> None:
    result = invoke("plan", "--per-core-rps", "300", "--autoscale-peak", "1000", "--json")
    assert result.exit_code == 0, result.output
    autoscale = json.loads(result.stdout)["autoscale"]
    assert autoscale["per_instance_rps"] == 600.0  # 300 per core x 2 vCPU of a t3.medium
