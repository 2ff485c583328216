"""Hostile numbers and files on the command line: one line on stderr, exit 2, no traceback.

Each case once crashed with a traceback (OverflowError, ValueError, UnicodeDecodeError, numpy's
LinAlgError) instead of naming the bad input.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app

RECORDED = Path(__file__).parents[1] / "data" / "recorded_runs" / "constant"
runner = CliRunner()


def assert_bad_input(*args: str) -> str:
    result = runner.invoke(app, list(args))
    message = f"loadcap {' '.join(args)[:80]} -> exit {result.exit_code}:\n{result.output}"
    assert result.exit_code == 2, message
    assert "Traceback" not in result.output, message
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), message
    lines = result.stderr.strip().splitlines()
    assert lines and lines[0].startswith("error:"), message
    print(f"loadcap {' '.join(args)[:60]} -> exit 2: {lines[0][:100]}")
    return result.stderr


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "args",
    [
        ("run", "--duration", "inf"),
        ("run", "--duration", "nan"),
        ("run", "--duration", "1e308"),
        ("run", "--rps", "nan"),
        ("run", "--rps", "inf"),
        ("run", "--spawn-rate", "nan"),
    ],
    ids=lambda args: " ".join(args),
)
def test_run_refuses_non_finite_numbers_before_starting(args: tuple[str, ...]) -> None:
    assert_bad_input(*args)


@pytest.mark.parametrize(
    "args",
    [
        ("--per-instance-rps", "10", "--target-rps", "1e308"),
        ("--per-instance-rps", "5e-324"),
        ("--per-instance-rps", "10", "--replica-rps", "1e-320"),
    ],
    ids=lambda args: " ".join(args),
)
def test_plan_refuses_quantities_whose_arithmetic_overflows(args: tuple[str, ...]) -> None:
    assert "between" in assert_bad_input("plan", *args)


def test_fit_refuses_an_n_of_1e308(tmp_path: Path) -> None:
    path = tmp_path / "usl.csv"
    path.write_text("n,throughput\n1,100\n2,190\n4,350\n1e308,400\n", encoding="utf-8")
    assert "N must be at most" in assert_bad_input("fit", str(path))


def test_fit_refuses_an_absurd_throughput(tmp_path: Path) -> None:
    path = tmp_path / "usl.csv"
    path.write_text("n,throughput\n1,100\n2,190\n4,350\n8,1e300\n", encoding="utf-8")
    assert "throughput must be at most" in assert_bad_input("fit", str(path))


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(RECORDED, copy)
    return copy


def test_report_refuses_a_binary_metrics_snapshot(run_dir: Path) -> None:
    snapshot = sorted((run_dir / "metrics").glob("*.prom"))[0]
    snapshot.write_bytes(bytes(range(256)) * 8)
    stderr = assert_bad_input("report", str(run_dir))
    assert snapshot.name in stderr and "not Prometheus text format" in stderr


def test_report_refuses_a_400_digit_request_count(run_dir: Path) -> None:
    stats = run_dir / "locust_stats.csv"
    with stats.open(newline="") as handle:
        rows = list(csv.reader(handle))
    rows[1][rows[0].index("Request Count")] = "9" * 400
    with stats.open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    stderr = assert_bad_input("report", str(run_dir))
    assert "locust_stats.csv: line 2: requests is not a plausible number" in stderr
