"""The gate knows an invalid measurement: throughput from a run whose generator saturated."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from cli import EXIT_CHECK_FAILED, EXIT_OK, app
from tests.reports.gate_runs import write_run

runner = CliRunner()
CAPPED = {"generator_saturated": True, "first_limit": "load_generator"}
SERVICE_BOUND = {"generator_saturated": False, "first_limit": "service_cpu"}


def gate(*args: str | Path) -> tuple[int, str]:
    result = runner.invoke(app, ["gate", *map(str, args)], env={"GITHUB_STEP_SUMMARY": ""})
    return result.exit_code, result.stdout


def test_min_rps_on_a_generator_saturated_run_fails_naming_the_cause(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run", capacity=CAPPED)

    code, out = gate(run, "--min-rps", "50")

    assert code == EXIT_CHECK_FAILED
    assert "| ❌ | Total: throughput measures the service |" in out
    assert "load generator saturated in this run" in out


def test_a_saturated_baseline_invalidates_the_throughput_comparison(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run", capacity=SERVICE_BOUND)
    baseline = write_run(tmp_path / "main", capacity=CAPPED)

    code, out = gate(run, "--baseline", baseline)

    assert code == EXIT_CHECK_FAILED
    assert "the baseline (main)" in out


def test_the_flag_waives_it_and_latency_only_gates_are_unaffected(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run", capacity=CAPPED)

    allowed, out = gate(run, "--min-rps", "50", "--allow-saturated-generator")
    latency_only, _ = gate(run, "--p95-ms", "50")

    assert allowed == EXIT_OK, out
    assert "waived by --allow-saturated-generator" in out
    assert latency_only == EXIT_OK


def test_a_service_bound_run_passes_its_throughput_check(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run", capacity=SERVICE_BOUND)

    code, out = gate(run, "--min-rps", "50")

    assert code == EXIT_OK, out
    assert "throughput measures the service" not in out
