"""summary.json follows the contract: totals equal Locust's Aggregated row, and the rest
(endpoints, shares, exact percentiles, server facts, capacity) is derived from the run."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pandas as pd
import pytest

from reports.slo import Slo
from reports.summary import build_summary, write_summary
from tests.reports.recorded import CONSTANT, PLAIN, RUNS, STEP, aggregated_row, copy_run


@pytest.mark.parametrize("name", [CONSTANT, STEP, PLAIN])
def test_totals_equal_the_aggregated_row_of_the_stats_csv(name: str) -> None:
    row = aggregated_row(RUNS / name)

    totals = build_summary(RUNS / name)["totals"]

    assert totals["requests"] == int(row["Request Count"])
    assert totals["failures"] == int(row["Failure Count"])
    assert totals["rps"] == pytest.approx(float(row["Requests/s"]))
    for key, column in (("p50_ms", "50%"), ("p95_ms", "95%"), ("p99_ms", "99%")):
        assert totals[key] == float(row[column])
    assert totals["error_rate"] == pytest.approx(
        int(row["Failure Count"]) / int(row["Request Count"])
    )


def test_endpoints_carry_the_contract_fields_and_shares_add_up() -> None:
    summary = build_summary(RUNS / CONSTANT)
    with (RUNS / CONSTANT / "locust_stats.csv").open(newline="") as handle:
        rows = {f"{r['Type']} {r['Name']}": r for r in csv.DictReader(handle)}

    endpoints = summary["endpoints"]

    assert {e["name"] for e in endpoints} == set(rows) - {" Aggregated"}
    for endpoint in endpoints:
        assert {"name", "method", "requests", "failures", "rps", "p95_ms", "share"} <= set(endpoint)
        assert endpoint["requests"] == int(rows[endpoint["name"]]["Request Count"])
    assert sum(e["share"] for e in endpoints) == pytest.approx(1.0)


def test_intended_share_comes_from_the_run_mix() -> None:
    endpoints = {e["name"]: e for e in build_summary(RUNS / CONSTANT)["endpoints"]}

    assert endpoints["GET /api/profiles"]["intended_share"] == pytest.approx(0.8)
    assert endpoints["POST /api/profiles"]["intended_share"] == pytest.approx(0.05)


def test_exact_percentiles_come_from_hdr_json_without_the_histogram_blob() -> None:
    hdr = json.loads((RUNS / CONSTANT / "hdr.json").read_text())["endpoints"]

    summary = build_summary(RUNS / CONSTANT)

    assert summary["totals"]["hdr"]["p99_ms"] == hdr["Aggregated"]["p99_ms"]
    listed = next(e for e in summary["endpoints"] if e["name"] == "GET /api/profiles")
    assert listed["hdr"]["p95_ms"] == hdr["GET /api/profiles"]["p95_ms"]
    assert "histogram" not in listed["hdr"]


def test_server_facts_come_from_the_metrics_snapshots() -> None:
    server = build_summary(RUNS / CONSTANT)["server"]

    assert 0 < server["cache_hit_ratio"] < 1
    assert server["queries"]["master"] > 0
    assert server["rate_limited"] == 0


def test_a_plain_locust_run_has_no_run_server_or_hdr_facts() -> None:
    summary = build_summary(RUNS / PLAIN)

    assert summary["run"] is None and summary["server"] is None
    assert "hdr" not in summary["totals"]
    assert all(e["intended_share"] is None for e in summary["endpoints"])


def test_a_step_run_past_the_slo_has_a_capacity() -> None:
    summary = build_summary(RUNS / STEP)

    stages = summary["saturation"]["stages"]
    assert len(stages) == 5
    assert not stages[-1]["met_slo"]  # pushed past the SLO
    passing = [s["rps"] for s in stages if s["met_slo"]]
    assert summary["capacity_rps"] == pytest.approx(max(passing), abs=0.05)
    assert summary["saturation"]["capacity_rps"] == summary["capacity_rps"]
    assert "hit first" in summary["saturation"]["limit"]


def test_a_looser_slo_raises_the_capacity() -> None:
    strict = build_summary(RUNS / STEP, slo=Slo(p95_ms=100))
    loose = build_summary(RUNS / STEP, slo=Slo(p95_ms=10_000))

    assert loose["capacity_rps"] > strict["capacity_rps"]
    assert loose["slo"] == {"p95_ms": 10_000, "max_error_rate": 0.01}


def test_a_constant_run_has_no_capacity() -> None:
    summary = build_summary(RUNS / CONSTANT)

    assert "capacity_rps" not in summary and "saturation" not in summary


def test_write_summary_writes_strict_json(tmp_path: Path) -> None:
    run_dir = copy_run(PLAIN, tmp_path)

    path = write_summary(run_dir)

    def no_nan(text: str) -> float:
        raise AssertionError(f"non-JSON number {text}")

    summary = json.loads(path.read_text(), parse_constant=no_nan)
    assert path == run_dir / "summary.json"
    assert not any(
        isinstance(v, float) and math.isnan(v) for e in summary["endpoints"] for v in e.values()
    )


def test_rate_limiter_backend_failures_are_counted_apart_from_cache_errors() -> None:
    from reports.summary import _server

    rows = [
        {"timestamp": 1000.0 + at, "elapsed_s": at, "phase": "during", "sample": sample,
         "value": value}
        for at, limiter, cache in ((0.0, 0.0, 0.0), (2.0, 3.0, 1.0), (4.0, 7.0, 1.0))
        for sample, value in (
            ("loadcap_rate_limit_errors_total", limiter),
            ("loadcap_cache_errors_total", cache),
        )
    ]  # fmt: skip
    server = _server(pd.DataFrame(rows))
    assert server is not None and server.rate_limit_errors == 7
