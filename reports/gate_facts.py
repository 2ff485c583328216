"""What the gate reads from a run directory: `summary.json`, and `hdr.json` when present.

The gate needs only a few facts per scope (the totals and each endpoint): request count,
error rate, throughput and latency percentiles. Percentiles come in two flavours kept side by
side, so a comparison can use the same flavour on both runs: the exact HDR ones (the `hdr`
objects in summary.json, or hdr.json) and Locust's bucketed ones.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from reports.errors import GateInputError
from reports.thresholds import PERCENTILES
from rundir.document import DocumentError
from rundir.hdr_json import AGGREGATED, HDR_FILE, LatencyFacts, read_hdr
from rundir.summary_json import (
    SUMMARY_FILE,
    SummaryEndpoint,
    SummarySlo,
    SummaryTotals,
    read_summary,
)

_T = TypeVar("_T")

TOTAL = "Total"
# Names a threshold may use for the run's totals; Locust calls that row "Aggregated".
TOTAL_ALIASES = frozenset({"total", "totals", "aggregated", "all"})


@dataclass(frozen=True)
class ScopeFacts:
    """One scope of a run: the totals or one endpoint (named `"<METHOD> <name>"`)."""

    name: str
    requests: float
    failures: float
    error_rate: float
    rps: float
    locust: dict[str, float | None]  # "p95" -> ms, Locust's bucketed percentiles
    hdr: dict[str, float | None] | None  # the exact ones, when recorded
    # "intended": an open-model run's exact latency from each send's intended time, which
    # counts queueing that service time hides; "service" otherwise.
    hdr_clock: str = "service"

    def percentile(self, metric: str, *, exact: bool) -> float | None:
        """The exact percentile when asked and recorded, Locust's otherwise."""
        if exact and self.exact_has(metric):
            return self.hdr[metric] if self.hdr else None
        return self.locust.get(metric)

    def exact_has(self, metric: str) -> bool:
        return self.hdr is not None and self.hdr.get(metric) is not None

    @property
    def has_hdr(self) -> bool:
        return self.hdr is not None


@dataclass(frozen=True)
class GateRun:
    """What the gate judges of one run directory."""

    run_dir: Path
    totals: ScopeFacts
    endpoints: dict[str, ScopeFacts]
    slo_p95_ms: float | None
    slo_max_error_rate: float | None
    # The load generator hit its limit first: the run's throughput is the generator's.
    generator_saturated: bool = False

    def scope(self, name: str | None) -> ScopeFacts:
        """The totals (None or an alias like 'Aggregated') or one endpoint, by name."""
        if name is None or name.lower() in TOTAL_ALIASES:
            return self.totals
        if name in self.endpoints:
            return self.endpoints[name]
        # Allow the bare route when only one method uses it: "/api/profiles/{id}".
        matches = [key for key in self.endpoints if key.split(" ", 1)[-1] == name]
        if len(matches) == 1:
            return self.endpoints[matches[0]]
        known = ", ".join(sorted(self.endpoints)) or "none"
        raise GateInputError(
            f"unknown endpoint {name!r} in {self.run_dir / 'summary.json'} (known: {known})"
        )

    @property
    def has_hdr(self) -> bool:
        return self.totals.has_hdr


def load_gate_run(run_dir: Path) -> GateRun:
    """Read a run directory's summary.json (and hdr.json); GateInputError when unusable."""
    if not run_dir.is_dir():
        raise GateInputError(f"run directory {run_dir} does not exist")
    summary_path = run_dir / SUMMARY_FILE
    if not summary_path.is_file():
        raise GateInputError(
            f"{run_dir} has no summary.json (write it with `loadcap report {run_dir}`)"
        )
    summary = _read(summary_path, read_summary)
    hdr_path = run_dir / HDR_FILE
    hdr_file = _read(hdr_path, read_hdr) if hdr_path.is_file() else None
    hdr_by_name: dict[str, LatencyFacts] = dict(hdr_file.endpoints) if hdr_file else {}
    intended = (summary.open_model.intended if summary.open_model else None) or {}
    endpoints: dict[str, ScopeFacts] = {}
    for index, endpoint in enumerate(summary.endpoints):
        key = _endpoint_key(endpoint)
        if not key:
            raise GateInputError(f"{summary_path}: an endpoint has no name")
        exact = endpoint.hdr or hdr_by_name.get(key)
        where = f"$.endpoints[{index}]"
        endpoints[key] = _scope(
            key, endpoint, exact, intended.get(key), path=summary_path, where=where
        )
    exact_totals = summary.totals.hdr or hdr_by_name.get(AGGREGATED)
    totals = _scope(
        TOTAL,
        summary.totals,
        exact_totals,
        intended.get(AGGREGATED),
        path=summary_path,
        where="$.totals",
    )
    slo = summary.slo or SummarySlo()
    capped = summary.capacity is not None and summary.capacity.generator_saturated is True
    return GateRun(
        run_dir, totals, endpoints, slo.p95_ms, slo.max_error_rate, generator_saturated=capped
    )


def _read(path: Path, read: Callable[[Path], _T]) -> _T:
    try:
        return read(path)
    except DocumentError as exc:
        raise GateInputError(str(exc)) from None


def _endpoint_key(endpoint: SummaryEndpoint) -> str:
    """`"<METHOD> <name>"` as hdr.json keys it, whether or not `name` already has the method."""
    name = endpoint.name.strip()
    method = (endpoint.method or "").strip()
    if not method or name.upper().startswith(method.upper() + " "):
        return name
    return f"{method} {name}"


def _scope(
    name: str,
    row: SummaryTotals | SummaryEndpoint,
    hdr: LatencyFacts | None,
    intended: LatencyFacts | None,
    *,
    path: Path,
    where: str,
) -> ScopeFacts:
    """One scope's facts; `where` is the row's place in summary.json (`$.totals`)."""
    requests, failures, rps = row.requests, row.failures, row.rps or 0.0
    # A throughput that is not there is not 0 req/s: the gate refuses to judge it.
    missing = [
        field
        for field, value in (("requests", requests), ("failures", failures), ("rps", row.rps))
        if value is None and (field != "rps" or requests)
    ]
    if missing or requests is None or failures is None:
        field = missing[0]
        raise GateInputError(f"{path}: the gate needs `{field}` - at `{where}.{field}`")
    if requests < 0 or failures < 0 or rps < 0:
        raise GateInputError(f"summary.json: negative counts for {name}")
    error_rate = row.error_rate
    if error_rate is None:
        error_rate = failures / requests if requests else 0.0
    exact = intended if intended is not None else hdr
    return ScopeFacts(
        name=name,
        requests=requests,
        failures=failures,
        error_rate=error_rate,
        rps=rps,
        locust=_percentiles(row),
        hdr=_percentiles(exact) if exact is not None else None,
        hdr_clock="intended" if intended is not None else "service",
    )


def _percentiles(source: LatencyFacts | SummaryTotals | SummaryEndpoint) -> dict[str, float | None]:
    """By threshold name ("p95"); Locust's rows have no p99.9."""
    p999 = source.p999_ms if isinstance(source, LatencyFacts) else None
    figures = (source.p50_ms, source.p90_ms, source.p95_ms, source.p99_ms, p999)
    return dict(zip(PERCENTILES, figures, strict=True))
