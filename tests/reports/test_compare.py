"""Comparing two runs flags regressions past a tolerance, and only those."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from reports.compare import TOTAL, compare_summaries, is_regression
from rundir.summary_json import Summary, SummaryEndpoint


def _summary(rps: float, p95: float, error_rate: float, *, hdr_p95: float | None = None) -> Summary:
    scope: dict[str, Any] = {
        "rps": rps,
        "p50_ms": 5.0,
        "p95_ms": p95,
        "p99_ms": 2 * p95,
        "error_rate": error_rate,
    }
    if hdr_p95 is not None:
        scope["hdr"] = {"p50_ms": 5.0, "p95_ms": hdr_p95, "p99_ms": 2 * hdr_p95}
    summary = {"totals": scope, "endpoints": [{"name": "GET /api/profiles", **scope}]}
    return msgspec.convert(summary, Summary)


@pytest.mark.parametrize(
    ("metric", "baseline", "current", "regressed"),
    [
        ("rps", 100.0, 95.0, False),
        ("rps", 100.0, 85.0, True),
        ("p95_ms", 20.0, 21.0, False),
        ("p95_ms", 20.0, 30.0, True),
        ("p95_ms", 2.0, 2.9, False),  # +45% but under 1 ms: Locust's rounding
        ("error_rate", 0.0, 0.004, False),
        ("error_rate", 0.0, 0.02, True),
    ],
)
def test_regression_tolerances(
    metric: str, baseline: float, current: float, regressed: bool
) -> None:
    assert is_regression(metric, baseline, current) is regressed


def test_slower_run_is_flagged_on_totals_and_endpoint() -> None:
    comparisons = compare_summaries(_summary(80.0, 50.0, 0.0), _summary(100.0, 20.0, 0.0))

    assert [c.endpoint for c in comparisons] == [TOTAL, "GET /api/profiles"]
    assert all(c.regressed for c in comparisons)
    p95 = comparisons[0].deltas["p95_ms"]
    assert (p95.baseline, p95.current, p95.change) == (20.0, 50.0, 30.0)
    assert p95.relative == pytest.approx(1.5)


def test_identical_runs_have_no_regression() -> None:
    comparisons = compare_summaries(_summary(100.0, 20.0, 0.0), _summary(100.0, 20.0, 0.0))

    assert not any(c.regressed for c in comparisons)


def test_exact_hdr_percentiles_are_compared_when_both_runs_have_them() -> None:
    current = _summary(100.0, 20.0, 0.0, hdr_p95=30.0)
    baseline = _summary(100.0, 20.0, 0.0, hdr_p95=20.0)

    p95 = compare_summaries(current, baseline)[0].deltas["p95_ms"]

    assert (p95.baseline, p95.current, p95.regression) == (20.0, 30.0, True)


def test_an_endpoint_missing_from_one_run_shows_without_a_delta() -> None:
    baseline = _summary(100.0, 20.0, 0.0)
    baseline.endpoints.append(SummaryEndpoint(name="POST /api/profiles", rps=5.0, p95_ms=9.0))

    comparisons = compare_summaries(_summary(100.0, 20.0, 0.0), baseline)

    gone = comparisons[-1]
    assert gone.endpoint == "POST /api/profiles"
    assert gone.deltas["rps"].current is None and gone.deltas["rps"].change is None
    assert not gone.regressed
