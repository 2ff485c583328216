"""`loadcap gate` thresholds: exit 0 when every check holds, 1 when one does not."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import EXIT_CHECK_FAILED, EXIT_OK, app
from reports.gate import GateOptions, evaluate
from reports.gate_facts import load_gate_run
from reports.thresholds import parse_threshold
from tests.reports.gate_runs import GET, LIST, endpoint, totals, write_run

runner = CliRunner()


def gate(*args: str | Path) -> tuple[int, str, str]:
    result = runner.invoke(app, ["gate", *map(str, args)], env={"GITHUB_STEP_SUMMARY": ""})
    return result.exit_code, result.stdout, result.stderr


def test_run_within_every_threshold_passes(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run")
    code, out, _ = gate(
        run,
        "--p95-ms", "50", "--p99-ms", "100", "--max-error-rate", "1%", "--min-rps", "50",
        "--threshold", f"{GET}:p95<50",
    )  # fmt: skip
    assert code == EXIT_OK, out
    assert "✅ passed (6 checks)" in out
    assert "❌" not in out


@pytest.mark.parametrize(
    ("flags", "failing_row"),
    [
        (["--p95-ms", "10"], "Total: p95 <= 10 ms"),
        (["--p99-ms", "25"], "Total: p99 <= 25 ms"),
        (["--max-error-rate", "0.001"], "Total: error_rate <= 0.1%"),
        (["--min-rps", "150"], "Total: rps >= 150 req/s"),
        (["--threshold", f"{GET}:p95<10"], f"{GET}: p95 < 10 ms"),
        (["--threshold", f"{LIST}:error_rate<1%"], f"{LIST}: error_rate < 1%"),
        (["--threshold", f"{LIST}:rps>=100"], f"{LIST}: rps >= 100 req/s"),
        (["--threshold", f"{LIST}:p50<3"], f"{LIST}: p50 < 3 ms"),
    ],
)
def test_each_threshold_kind_fails_the_gate(
    tmp_path: Path, flags: list[str], failing_row: str
) -> None:
    run = write_run(
        tmp_path / "run",
        total=totals(requests=1000, failures=20, rps=100.0, p95=12.0, p99=30.0),
        endpoints=[endpoint(LIST, failures=20), endpoint(GET, requests=200, rps=20.0)],
    )
    code, out, err = gate(run, *flags)
    assert code == EXIT_CHECK_FAILED
    assert f"| ❌ | {failing_row} |" in out
    assert "❌ failed (1 of 2 checks)" in out
    assert "gate failed" in err


def test_exact_hdr_percentiles_win_over_locust_rounding(tmp_path: Path) -> None:
    # Locust's bucketed p95 says 60 ms; the exact HDR one says 45 ms: the gate trusts HDR.
    exact = {"p50_ms": 3.1, "p95_ms": 45.2, "p99_ms": 70.4, "p999_ms": 88.0}
    run = write_run(tmp_path / "run", total=totals(p95=60.0, hdr=exact))
    code, out, _ = gate(run, "--p95-ms", "50", "--threshold", "p999<90")
    assert code == EXIT_OK
    assert "45.2 ms" in out
    assert "HDR (exact)" in out
    assert "percentiles: exact, from HDR histograms" in out


def test_without_hdr_the_gate_says_it_used_locust_percentiles(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run", total=totals(p95=60.0))
    code, out, _ = gate(run, "--p95-ms", "50")
    assert code == EXIT_CHECK_FAILED
    assert "| ❌ | Total: p95 <= 50 ms | 60 ms | <= 50 ms | Locust (bucketed) |" in out
    assert "Locust's (bucketed" in out


def test_hdr_json_supplies_exact_percentiles_absent_from_summary(tmp_path: Path) -> None:
    hdr = {
        "unit": "ms",
        "significant_figures": 3,
        "endpoints": {
            GET: {"count": 200, "p50_ms": 2.0, "p90_ms": 7.5, "p95_ms": 8.25, "p99_ms": 9.0},
            "Aggregated": {"count": 1000, "p50_ms": 2.5, "p95_ms": 11.0, "p99_ms": 20.0},
        },
    }
    run = write_run(tmp_path / "run", hdr_json=hdr)
    facts = load_gate_run(run)
    checks = evaluate(facts, GateOptions(thresholds=(parse_threshold(f"{GET}:p90<8"),))).checks
    assert [(c.measured, c.status, c.note) for c in checks[1:]] == [
        ("7.5 ms", "pass", "HDR (exact)")
    ]
    assert facts.totals.percentile("p95", exact=True) == 11.0


def test_bare_route_names_an_endpoint_when_unambiguous(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run")
    code, out, _ = gate(run, "--threshold", "/api/profile/{id}:p95<5")
    assert code == EXIT_CHECK_FAILED
    assert f"| ❌ | {GET}: p95 < 5 ms |" in out


def test_aggregated_names_the_totals(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run")
    code, out, _ = gate(run, "--threshold", "Aggregated:p95<5")
    assert code == EXIT_CHECK_FAILED
    assert "| ❌ | Total: p95 < 5 ms |" in out


def test_run_that_made_no_requests_fails_even_generous_thresholds(tmp_path: Path) -> None:
    empty = totals(requests=0, rps=0.0, p50=0.0, p95=0.0, p99=0.0)
    run = write_run(tmp_path / "run", total=empty, endpoints=[])
    code, out, _ = gate(run, "--p95-ms", "1000")
    assert code == EXIT_CHECK_FAILED
    assert "| ❌ | Total: requests > 0 | 0 |" in out
    assert "| ❌ | Total: p95 <= 1000 ms | no requests |" in out


def test_without_thresholds_the_runs_own_slo_is_the_bar(tmp_path: Path) -> None:
    run = write_run(
        tmp_path / "run",
        total=totals(p95=120.0),
        slo={"p95_ms": 100, "max_error_rate": 0.01},
    )
    code, out, _ = gate(run)
    assert code == EXIT_CHECK_FAILED
    assert "| ❌ | Total: p95 <= 100 ms | 120 ms |" in out
    assert "| ✅ | Total: error_rate <= 1% | 0% |" in out
