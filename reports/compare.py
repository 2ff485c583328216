"""Baseline vs current: per-endpoint deltas of throughput, latency percentiles and error rate.

Works on two summary.json documents, so any two runs compare, whoever produced them. A change
counts as a regression only past a tolerance, because two runs of the same code on a shared
machine never match exactly: throughput down or a percentile up by more than 10% (and, for
latency, by more than 1 ms: Locust rounds to two significant digits), or the error rate up by
more than half a percentage point.
"""

from __future__ import annotations

from dataclasses import dataclass

from rundir.summary_json import Summary, SummaryEndpoint, SummaryTotals

RELATIVE_TOLERANCE = 0.10
LATENCY_FLOOR_MS = 1.0
ERROR_RATE_TOLERANCE = 0.005
TOTAL = "All endpoints"
LATENCY = ("p50_ms", "p95_ms", "p99_ms")
METRICS = ("rps", *LATENCY, "error_rate")


@dataclass(frozen=True, kw_only=True)
class Delta:
    metric: str
    baseline: float | None
    current: float | None
    regression: bool

    @property
    def change(self) -> float | None:
        if self.baseline is None or self.current is None:
            return None
        return self.current - self.baseline

    @property
    def relative(self) -> float | None:
        change = self.change
        return change / self.baseline if change is not None and self.baseline else None


@dataclass(frozen=True, kw_only=True)
class EndpointComparison:
    endpoint: str
    deltas: dict[str, Delta]

    @property
    def regressed(self) -> bool:
        return any(d.regression for d in self.deltas.values())


def is_regression(metric: str, baseline: float | None, current: float | None) -> bool:
    if baseline is None or current is None:
        return False
    if metric == "rps":
        return current < baseline * (1 - RELATIVE_TOLERANCE)
    if metric == "error_rate":
        return current - baseline > ERROR_RATE_TOLERANCE
    return current > baseline * (1 + RELATIVE_TOLERANCE) and current - baseline > LATENCY_FLOOR_MS


Scope = SummaryTotals | SummaryEndpoint


def _values(scope: Scope, exact: bool) -> dict[str, float | None]:
    """The scope's figures by metric; its exact (HDR) percentiles when `exact`."""
    values = {
        "rps": scope.rps,
        "p50_ms": scope.p50_ms,
        "p95_ms": scope.p95_ms,
        "p99_ms": scope.p99_ms,
        "error_rate": scope.error_rate,
    }
    if exact and scope.hdr:
        hdr = scope.hdr
        values.update(p50_ms=hdr.p50_ms, p95_ms=hdr.p95_ms, p99_ms=hdr.p99_ms)
    return values


def compare_scope(name: str, baseline: Scope | None, current: Scope | None) -> EndpointComparison:
    """Deltas for one endpoint (or the totals); exact HDR percentiles when both runs have them."""
    exact = bool(baseline and baseline.hdr and current and current.hdr)
    before = _values(baseline, exact) if baseline else {}
    after = _values(current, exact) if current else {}
    deltas = {}
    for metric in METRICS:
        old, new = before.get(metric), after.get(metric)
        deltas[metric] = Delta(
            metric=metric, baseline=old, current=new, regression=is_regression(metric, old, new)
        )
    return EndpointComparison(endpoint=name, deltas=deltas)


def compare_summaries(current: Summary, baseline: Summary) -> list[EndpointComparison]:
    """The totals first, then every endpoint either run has (a missing one shows as None)."""
    old = {e.name: e for e in baseline.endpoints}
    new = {e.name: e for e in current.endpoints}
    names = [*new, *(n for n in old if n not in new)]
    return [
        compare_scope(TOTAL, baseline.totals, current.totals),
        *(compare_scope(n, old.get(n), new.get(n)) for n in names),
    ]
