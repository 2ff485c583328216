"""summary.json: the machine-readable facts of a run (SPEC.md contract, docs/run-directory.md).

`loadcap run` writes it at the end of every run and the gate reads it, so this module stays
quick and free of matplotlib: pandas over the CSVs, nothing drawn. The document's schema is
`rundir/summary_json.py`; this module is its one producer.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import msgspec
import pandas as pd

from reports import service_metrics
from reports.load import RunData, load_run_data
from reports.locust_csv import AGGREGATED
from reports.metrics import intended_shares
from reports.saturation import Saturation, analyse
from reports.service_capacity import CapacityFacts, analyse_capacity, disturbance, meanwhile
from reports.slo import Slo
from reports.use import Verdict
from rundir.document import document_text
from rundir.hdr_json import HdrDocument, LatencyFacts, OpenModelTally
from rundir.summary_json import (
    SUMMARY_FILE,
    Summary,
    SummaryEndpoint,
    SummaryOpenModel,
    SummaryServer,
    SummaryTotals,
    write_summary_document,
)

__all__ = ["SUMMARY_FILE", "build_summary", "dump_summary", "summarise", "write_summary"]


def _number(value: Any) -> float | None:
    """A JSON-safe float: NaN (Locust's "N/A") becomes null."""
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else number


def _hdr(data: RunData, endpoint: str) -> LatencyFacts | None:
    """hdr.json's figures for one endpoint, without the histogram blob."""
    entry = data.hdr.endpoints.get(endpoint) if data.hdr is not None else None
    return entry.latency() if entry is not None else None


class _Counts(msgspec.Struct, frozen=True, kw_only=True):
    requests: int
    failures: int
    error_rate: float
    rps: float | None
    p50_ms: float | None
    p90_ms: float | None
    p95_ms: float | None
    p99_ms: float | None


def _counts(row: pd.Series) -> _Counts:
    requests, failures = int(row["requests"]), int(row["failures"])

    def percentile(name: str) -> float | None:
        if name in row.index:
            return _number(row[name])
        return _number(row["median_ms"]) if name == "p50_ms" and "median_ms" in row.index else None

    return _Counts(
        requests=requests,
        failures=failures,
        error_rate=failures / requests if requests else 0.0,
        rps=_number(row["rps"]),
        p50_ms=percentile("p50_ms"),
        p90_ms=percentile("p90_ms"),
        p95_ms=percentile("p95_ms"),
        p99_ms=percentile("p99_ms"),
    )


def _totals(data: RunData) -> SummaryTotals:
    counts, hdr = _counts(data.aggregated), _hdr(data, AGGREGATED)
    return SummaryTotals(
        requests=counts.requests,
        failures=counts.failures,
        error_rate=counts.error_rate,
        rps=counts.rps,
        p50_ms=counts.p50_ms,
        p90_ms=counts.p90_ms,
        p95_ms=counts.p95_ms,
        p99_ms=counts.p99_ms,
        hdr=hdr if hdr is not None else msgspec.UNSET,
    )


def _endpoints(data: RunData) -> list[SummaryEndpoint]:
    total = int(data.aggregated["requests"])
    intended = intended_shares(data.run.mix if data.run is not None else None)
    entries = []
    for _, row in data.endpoints.iterrows():
        counts, hdr = _counts(row), _hdr(data, row["endpoint"])
        entry = SummaryEndpoint(
            name=row["endpoint"],
            method=row["method"],
            requests=counts.requests,
            failures=counts.failures,
            error_rate=counts.error_rate,
            rps=counts.rps,
            p50_ms=counts.p50_ms,
            p90_ms=counts.p90_ms,
            p95_ms=counts.p95_ms,
            p99_ms=counts.p99_ms,
            share=int(row["requests"]) / total if total else 0.0,
            intended_share=intended.get(row["endpoint"]),
            hdr=hdr if hdr is not None else msgspec.UNSET,
        )
        entries.append(entry)
    return entries


def _open_model(data: RunData) -> SummaryOpenModel | None:
    """Open-model runs: the arrival-rate tally (run.json, else hdr.json) and the latency
    measured from each send's intended time, per endpoint and `Aggregated`."""
    hdr = data.hdr or HdrDocument(endpoints={})
    facts = (data.run.open_model if data.run is not None else None) or hdr.open_model
    if facts is None and hdr.intended is None:
        return None
    tally = facts or OpenModelTally()
    intended = None
    if hdr.intended is not None:
        intended = {key: entry.latency() for key, entry in hdr.intended.items()}
    return SummaryOpenModel(
        target_rps=tally.target_rps,
        achieved_rps=tally.achieved_rps,
        scheduled=tally.scheduled,
        sent=tally.sent,
        completed=tally.completed,
        late_sends=tally.late_sends,
        dropped=tally.dropped,
        intended=intended,
    )


def _server(snapshots: pd.DataFrame | None) -> SummaryServer | None:
    if snapshots is None or snapshots.empty:
        return None
    fallbacks = service_metrics.total_increase(snapshots, service_metrics.FALLBACKS, ["reason"])
    return SummaryServer(
        cache_hit_ratio=service_metrics.cache_hit_ratio(snapshots),
        queries=service_metrics.queries_by_pool(snapshots),
        replica_read_share=service_metrics.replica_read_share(snapshots),
        replica_query_ms=service_metrics.replica_query_ms(snapshots),
        rate_limited=round(
            float(service_metrics.total_increase(snapshots, service_metrics.RATE_LIMITED).sum())
        ),
        replica_fallbacks={str(k): round(float(v)) for k, v in fallbacks.items()},
        rate_limit_errors=_rounded(
            service_metrics.counter_increase(
                snapshots, service_metrics.RATE_LIMIT_ERRORS, -math.inf, math.inf
            )
        ),
    )


def _rounded(value: float | None) -> int | None:
    return None if value is None else round(value)


def summarise(data: RunData, slo: Slo, saturation: Saturation | None) -> Summary:
    """The summary.json document for a loaded run."""
    found, capacity = analyse_capacity(data, slo, saturation)
    step = (
        msgspec.UNSET
        if saturation is None
        else saturation.as_summary(limit=limit_text(saturation, found, capacity))
    )
    capacity_rps = saturation.capacity_rps if saturation is not None else None
    return Summary(
        totals=_totals(data),
        endpoints=_endpoints(data),
        slo=slo.as_summary(),
        capacity_rps=capacity_rps if capacity_rps is not None else msgspec.UNSET,
        saturation=step,
        capacity=capacity.as_summary(),
        use=[row.as_summary() for row in found.rows],
        open_model=_open_model(data),
        server=_server(data.snapshots),
        run=data.run,
    )


# The saturation analysis of the breached stage explains these limits in more detail (the
# rate limiter, the top error, handler vs client latency, a cache collapse) than a USE row:
# its sentence is used when it names the same kind of limit the USE verdict found.
DETAILED_LIMITS = {
    "db_pool": ("The database connection pool",),
    "errors": ("The rate limiter", "Errors hit first"),
    "slo_latency": ("Latency hit first", "The cache hit first"),
}


def limit_text(saturation: Saturation, found: Verdict, capacity: CapacityFacts) -> str:
    """The limit sentence of a step run, from the USE verdict."""
    openings = DETAILED_LIMITS.get(capacity.first_limit, ())
    if openings and saturation.limit.startswith(openings):
        considered = found.rows[: (found.limit_index or 0) + 1]
        return f"{saturation.limit} {meanwhile(found)}{disturbance(considered)}"
    return capacity.sentence


def build_summary(run_dir: Path, *, slo: Slo | None = None) -> dict[str, Any]:
    """Read a run directory and return the plain JSON object summary.json would hold
    (`ReportInputError` if unusable); `summarise` gives the typed `Summary`."""
    slo = slo or Slo()
    data = load_run_data(run_dir)
    plain: dict[str, Any] = json.loads(document_text(summarise(data, slo, analyse(data, slo))))
    return plain


def dump_summary(summary: Summary, run_dir: Path) -> Path:
    return write_summary_document(run_dir / SUMMARY_FILE, summary)


def write_summary(run_dir: Path, *, slo: Slo | None = None) -> Path:
    """Write `<run_dir>/summary.json` and return its path."""
    slo = slo or Slo()
    data = load_run_data(run_dir)
    return dump_summary(summarise(data, slo, analyse(data, slo)), run_dir)
