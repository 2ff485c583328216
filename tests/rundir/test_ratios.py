"""One convention for every ratio flag: `1%` and `0.01` mean the same, a bare `1` is refused
with a hint, and a small ratio is never displayed as 0%."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from rundir.units import RatioError, format_ratio, parse_ratio
from tests.reports.gate_runs import write_run
from tests.reports.recorded import PLAIN, copy_run

runner = CliRunner()


@pytest.mark.parametrize("text", ["1%", "0.01", " 1 % ", "1.0%"])
def test_percent_and_fraction_are_the_same_ratio(text: str) -> None:
    assert parse_ratio(text, flag="--x") == pytest.approx(0.01)


@pytest.mark.parametrize("text", ["1", "5", "10", "100"])
def test_a_bare_number_of_one_or_more_is_refused_with_a_hint(text: str) -> None:
    with pytest.raises(RatioError, match=rf"write {text}% for {text} percent"):
        parse_ratio(text, flag="--max-error-rate")


@pytest.mark.parametrize("ratio", [0.001, 0.0005])
def test_small_ratios_are_not_rounded_to_zero(ratio: float) -> None:
    assert format_ratio(ratio) != "0%"
    assert format_ratio(0.001) == "0.1%"


def gate(*args: str | Path) -> tuple[int, str, str]:
    result = runner.invoke(app, ["gate", *map(str, args)], env={"GITHUB_STEP_SUMMARY": ""})
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("flag", ["--max-error-rate", "--max-regression"])
def test_gate_refuses_a_bare_one(tmp_path: Path, flag: str) -> None:
    run = write_run(tmp_path / "run")
    code, _, err = gate(run, "--p95-ms", "100", "--baseline", run, flag, "1")
    assert code == 2
    assert f"{flag} 1: a bare number" in err and "write 1% for 1 percent" in err


def test_gate_error_rate_as_percent_or_fraction_agree(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run")
    outputs = [gate(run, "--max-error-rate", text)[1] for text in ("1%", "0.01")]
    assert outputs[0] == outputs[1] and "<= 1%" in outputs[0]


def test_gate_regression_as_fraction_and_shown_without_rounding(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run")
    code, out, _ = gate(run, "--baseline", run, "--max-regression", "0.001")
    assert code == 0
    assert "max regression 0.1%" in out


def test_error_rate_threshold_refuses_a_bare_one(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run")
    code, _, err = gate(run, "--threshold", "error_rate<1")
    assert code == 2 and "fraction below 1" in err


def test_report_slo_error_rate_takes_a_percentage(tmp_path: Path) -> None:
    run_dir = copy_run(PLAIN, tmp_path)
    result = runner.invoke(app, ["report", str(run_dir), "--slo-error-rate", "2%"])
    assert result.exit_code == 0, result.output
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    assert summary["slo"]["max_error_rate"] == pytest.approx(0.02)
