"""Bad input to `loadcap gate` exits 2 with one clear line on stderr and no traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import EXIT_BAD_INPUT, app
from tests.reports.gate_runs import totals, write_run

runner = CliRunner()


def bad_input(*args: str | Path) -> str:
    """Run the gate, assert exit 2 and a one-line error; return that line."""
    result = runner.invoke(app, ["gate", *map(str, args)], env={"GITHUB_STEP_SUMMARY": ""})
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    assert "Traceback" not in result.output
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def test_missing_run_directory(tmp_path: Path) -> None:
    assert "does not exist" in bad_input(tmp_path / "nowhere", "--p95-ms", "50")


def test_run_directory_without_summary(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    assert "has no summary.json" in bad_input(tmp_path / "run", "--p95-ms", "50")


def test_summary_that_is_not_json(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "summary.json").write_text('{"totals": {', encoding="utf-8")
    assert "is not valid JSON" in bad_input(run, "--p95-ms", "50")


@pytest.mark.parametrize(
    ("summary", "names"),
    [
        ({"endpoints": []}, "totals"),
        ({"totals": totals(), "endpoints": {}}, "$.endpoints"),
        ({"totals": {**totals(), "rps": "fast"}, "endpoints": []}, "$.totals.rps"),
        ({"totals": {**totals(), "requests": None}, "endpoints": []}, "$.totals.requests"),
        # A throughput that is not there is not 0 req/s.
        ({"totals": {k: v for k, v in totals().items() if k != "rps"}}, "$.totals.rps"),
        ({"totals": totals(), "endpoints": [{"requests": 1, "failures": 0, "rps": 1}]}, "name"),
    ],
)
def test_summary_missing_or_mistyped_fields_are_named(
    tmp_path: Path, summary: dict[str, object], names: str
) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    assert names in bad_input(run, "--p95-ms", "50")


def test_malformed_hdr_json_is_reported_not_ignored(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run")
    (run / "hdr.json").write_text('{"endpoints": 3}', encoding="utf-8")
    assert "hdr.json" in bad_input(run, "--p95-ms", "50")


def test_bad_threshold_syntax(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run")
    assert "threshold 'p95 => 50'" in bad_input(run, "--threshold", "p95 => 50")


def test_unknown_endpoint_lists_the_known_ones(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run")
    line = bad_input(run, "--threshold", "GET /api/users:p95<50")
    assert "unknown endpoint 'GET /api/users'" in line
    assert "GET /api/profile/{id}, GET /api/profiles" in line


def test_bad_error_rate_and_regression_flags(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run")
    assert "--max-error-rate 5: a bare number" in bad_input(run, "--max-error-rate", "5")
    assert "like 1% or 0.01" in bad_input(run, "--baseline", run, "--max-regression", "lots")


def test_missing_baseline_directory(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run")
    assert "does not exist" in bad_input(run, "--baseline", tmp_path / "gone")


def test_nothing_to_check(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run")  # no thresholds, no baseline, no slo in the summary
    assert "nothing to check" in bad_input(run)


def test_percentile_the_summary_does_not_hold(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run")  # Locust percentiles only: p50/p95/p99
    assert "p999 of Total is not in summary.json" in bad_input(run, "--threshold", "p999<100")
