"""`loadcap report`: exit 0 and three files, or one clear error line and exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from tests.reports.recorded import PLAIN, copy_run

runner = CliRunner()


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    return copy_run(PLAIN, tmp_path)


def test_report_writes_html_markdown_and_summary(run_dir: Path) -> None:
    result = runner.invoke(app, ["report", str(run_dir)])

    assert result.exit_code == 0, result.output
    for name in ("report.html", "report.md", "summary.json"):
        assert (run_dir / name).is_file()
        assert name in result.output


def test_slo_flags_reach_the_summary(run_dir: Path) -> None:
    result = runner.invoke(
        app, ["report", str(run_dir), "--slo-p95-ms", "250", "--slo-error-rate", "0.05"]
    )

    assert result.exit_code == 0, result.output
    assert '"p95_ms": 250.0' in (run_dir / "summary.json").read_text()


def _break_missing(run_dir: Path) -> None:
    (run_dir / "locust_stats.csv").unlink()


def _break_truncated(run_dir: Path) -> None:
    stats = run_dir / "locust_stats.csv"
    stats.write_text(stats.read_text()[:-60])


def _break_unknown_columns(run_dir: Path) -> None:
    (run_dir / "locust_stats_history.csv").write_text("a,b,c\n1,2,3\n")


def _break_empty_run(run_dir: Path) -> None:
    stats = run_dir / "locust_stats.csv"
    stats.write_text(stats.read_text().splitlines()[0] + "\n")


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (_break_missing, "locust_stats.csv: file not found"),
        (_break_truncated, "locust_stats.csv: truncated or malformed row"),
        (_break_unknown_columns, "locust_stats_history.csv: unknown column layout"),
        (_break_empty_run, "locust_stats.csv: no Aggregated row"),
    ],
    ids=["missing", "truncated", "unknown-columns", "empty"],
)
def test_bad_run_directories_are_one_line_and_exit_2(
    run_dir: Path, breakage: object, message: str
) -> None:
    breakage(run_dir)  # type: ignore[operator]

    result = runner.invoke(app, ["report", str(run_dir)])

    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (run_dir / "report.html").exists()


def test_a_bad_baseline_is_a_clear_error_too(run_dir: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["report", str(run_dir), "--baseline", str(tmp_path / "nope")])

    assert result.exit_code == 2
    assert "nope: not a directory" in result.output


def test_an_impossible_slo_is_bad_input(run_dir: Path) -> None:
    result = runner.invoke(app, ["report", str(run_dir), "--slo-error-rate", "5"])

    assert result.exit_code == 2
    assert "write 5% for" in result.output
