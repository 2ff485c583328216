"""`loadcap gate --baseline`: regressions beyond the allowance fail, noise near zero does not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cli import EXIT_CHECK_FAILED, EXIT_OK, app
from reports.gate import GateOptions, evaluate
from reports.gate_facts import load_gate_run
from tests.reports.gate_runs import GET, LIST, endpoint, totals, write_run

runner = CliRunner()


def gate(*args: str | Path) -> tuple[int, str]:
    result = runner.invoke(app, ["gate", *map(str, args)], env={"GITHUB_STEP_SUMMARY": ""})
    return result.exit_code, result.stdout


def runs(tmp_path: Path, before: dict[str, Any], after: dict[str, Any]) -> tuple[Path, Path]:
    """Two runs that differ only in the GET endpoint's row."""
    baseline = write_run(tmp_path / "base", endpoints=[endpoint(LIST), endpoint(GET, **before)])
    current = write_run(tmp_path / "cur", endpoints=[endpoint(LIST), endpoint(GET, **after)])
    return baseline, current


def test_identical_runs_pass(tmp_path: Path) -> None:
    baseline, current = runs(tmp_path, {}, {})
    code, out = gate(current, "--baseline", baseline)
    assert code == EXIT_OK, out
    assert out.count("| ✅ |") == 1 + 3 * 5  # requests > 0, then 5 metrics x 3 scopes


@pytest.mark.parametrize(
    ("before", "after", "row"),
    [
        ({"p95": 40.0}, {"p95": 50.0}, f"{GET}: p95 vs baseline | 50 ms (+25.0%) | <= 44 ms"),
        ({"p99": 80.0}, {"p99": 95.0}, f"{GET}: p99 vs baseline | 95 ms (+18.8%) | <= 88 ms"),
        ({"p50": 20.0}, {"p50": 23.0}, f"{GET}: p50 vs baseline | 23 ms (+15.0%) | <= 22 ms"),
        ({"rps": 80.0}, {"rps": 70.0}, f"{GET}: rps vs baseline | 70 req/s (-12.5%) | >= 72 req/s"),
        (
            {"failures": 0},
            {"failures": 20},
            f"{GET}: error_rate vs baseline | 2% (from 0) | <= 0.5%",
        ),
    ],
)
def test_regression_beyond_allowance_fails(
    tmp_path: Path, before: dict[str, Any], after: dict[str, Any], row: str
) -> None:
    baseline, current = runs(tmp_path, before, after)
    code, out = gate(current, "--baseline", baseline, "--max-regression", "10%")
    assert code == EXIT_CHECK_FAILED
    assert f"| ❌ | {row}" in out
    assert out.count("| ❌ |") == 1


def test_regression_within_allowance_passes(tmp_path: Path) -> None:
    baseline, current = runs(tmp_path, {"p95": 40.0, "rps": 80.0}, {"p95": 43.0, "rps": 73.0})
    assert gate(current, "--baseline", baseline, "--max-regression", "10%")[0] == EXIT_OK


def test_wider_allowance_accepts_what_the_default_refuses(tmp_path: Path) -> None:
    baseline, current = runs(tmp_path, {"p95": 40.0}, {"p95": 50.0})
    assert gate(current, "--baseline", baseline)[0] == EXIT_CHECK_FAILED
    assert gate(current, "--baseline", baseline, "--max-regression", "30%")[0] == EXIT_OK


def test_improvements_never_fail(tmp_path: Path) -> None:
    better = {"p50": 1.0, "p95": 5.0, "p99": 9.0, "rps": 200.0}
    baseline, current = runs(tmp_path, {}, better)
    assert gate(current, "--baseline", baseline, "--max-regression", "0%")[0] == EXIT_OK


def test_tiny_latency_moves_near_zero_stay_under_the_noise_floor(tmp_path: Path) -> None:
    # 1 ms -> 2.5 ms is +150%, but Locust rounds to whole milliseconds: noise, not regression.
    baseline, current = runs(tmp_path, {"p50": 1.0, "p95": 2.0}, {"p50": 2.5, "p95": 3.5})
    assert gate(current, "--baseline", baseline)[0] == EXIT_OK
    code, out = gate(current, "--baseline", baseline, "--noise-floor-ms", "1")
    assert code == EXIT_CHECK_FAILED
    assert f"| ❌ | {GET}: p50 vs baseline | 2.5 ms (+150.0%) | <= 2 ms" in out


def test_slow_endpoint_rps_drop_of_less_than_one_request_per_second_is_noise(
    tmp_path: Path,
) -> None:
    baseline, current = runs(tmp_path, {"rps": 4.0}, {"rps": 3.2})
    assert gate(current, "--baseline", baseline)[0] == EXIT_OK


def test_endpoint_with_too_few_requests_is_skipped_not_judged(tmp_path: Path) -> None:
    baseline, current = runs(
        tmp_path, {"requests": 30, "p50": 10.0}, {"requests": 30, "p50": 100.0}
    )
    code, out = gate(current, "--baseline", baseline)
    assert code == EXIT_OK
    skipped = f"| ⏭️ | {GET}: p50 vs baseline | 100 ms | n/a | too few requests to compare"
    assert f"{skipped} (30 < 50)" in out
    code, _ = gate(current, "--baseline", baseline, "--min-requests", "10")
    assert code == EXIT_CHECK_FAILED


@pytest.mark.parametrize(
    ("requests", "compared"),
    [(199, ["p50"]), (200, ["p50", "p95"]), (999, ["p50", "p95"]), (1000, ["p50", "p95", "p99"])],
)
def test_a_percentile_needs_ten_requests_above_it(
    tmp_path: Path, requests: int, compared: list[str]
) -> None:
    # Two identical CI runs gave a 60-request endpoint a p95 of 4.2 ms and 8.4 ms: a tail
    # percentile resting on three requests. Each is compared only with ten above it.
    slower = {"requests": requests, "p50": 8.0, "p95": 24.0, "p99": 60.0}
    baseline, current = runs(tmp_path, {"requests": requests}, slower)
    code, out = gate(current, "--baseline", baseline)
    assert code == EXIT_CHECK_FAILED  # every compared percentile doubled
    for name in ("p50", "p95", "p99"):
        row = next(line for line in out.splitlines() if f"{GET}: {name} vs baseline" in line)
        if name in compared:
            assert row.startswith("| ❌ |"), row
        else:
            needed = {"p95": "200", "p99": "1,000"}[name]
            assert row.startswith("| ⏭️ |"), row
            assert f"too few requests for a {name} ({requests} < {needed}: fewer than 10" in row


def test_endpoint_the_baseline_exercised_but_this_run_did_not_fails(tmp_path: Path) -> None:
    baseline = write_run(tmp_path / "base")
    current = write_run(tmp_path / "cur", endpoints=[endpoint(LIST)])
    code, out = gate(current, "--baseline", baseline)
    assert code == EXIT_CHECK_FAILED
    assert f"| ❌ | {GET}: present as in baseline | absent | present |" in out


def test_new_endpoint_in_this_run_is_not_a_regression(tmp_path: Path) -> None:
    baseline = write_run(tmp_path / "base", endpoints=[endpoint(LIST)])
    current = write_run(tmp_path / "cur")
    assert gate(current, "--baseline", baseline)[0] == EXIT_OK


def test_totals_regress_with_the_run(tmp_path: Path) -> None:
    baseline = write_run(tmp_path / "base", total=totals(requests=1000, p95=20.0))
    current = write_run(tmp_path / "cur", total=totals(requests=1000, p95=30.0))
    code, out = gate(current, "--baseline", baseline)
    assert code == EXIT_CHECK_FAILED
    assert "| ❌ | Total: p95 vs baseline | 30 ms (+50.0%) | <= 22 ms (baseline 20 ms) |" in out


def test_exact_percentiles_are_compared_only_when_both_runs_have_them(tmp_path: Path) -> None:
    exact = {"p50_ms": 3.0, "p95_ms": 11.0, "p99_ms": 25.0}
    baseline = write_run(tmp_path / "base", total=totals(requests=1000, p95=12.0, hdr=exact))
    current = write_run(tmp_path / "cur", total=totals(requests=1000, p95=12.0))
    options = GateOptions(baseline=load_gate_run(baseline))
    checks = {c.name: c for c in evaluate(load_gate_run(current), options).checks}
    # Mixing exact 11 ms with Locust's rounded 12 ms would report a +9% change that is not one.
    assert checks["Total: p95 vs baseline"].note == "Locust (bucketed)"
    assert checks["Total: p95 vs baseline"].measured == "12 ms (+0.0%)"
