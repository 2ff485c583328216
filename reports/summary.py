"""summary.json: the machine-readable facts of a run (SPEC.md contract, docs/run-directory.md).

`loadcap run` writes it at the end of every run and the gate reads it, so this module stays
quick and free of matplotlib: pandas over the CSVs, nothing drawn.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from reports import server
from reports.load import RunData, load_run
from reports.locust_csv import AGGREGATED
from reports.metrics import intended_shares
from reports.saturation import Saturation, analyse
from reports.service_capacity import CapacityFacts, analyse_capacity, disturbance, meanwhile
from reports.slo import Slo
from reports.use import Verdict

SUMMARY_FILE = "summary.json"
PERCENTILES = ("p50_ms", "p90_ms", "p95_ms", "p99_ms")
HDR_FIELDS = (
    "count",
    "min_ms",
    "mean_ms",
    "max_ms",
    "p50_ms",
    "p90_ms",
    "p95_ms",
    "p99_ms",
    "p999_ms",
)


def _number(value: Any) -> float | None:
    """A JSON-safe float: NaN (Locust's "N/A") becomes null."""
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else number


def _hdr(data: RunData, endpoint: str) -> dict[str, float | None] | None:
    entry = ((data.hdr or {}).get("endpoints") or {}).get(endpoint)
    return _hdr_facts(entry) if isinstance(entry, dict) else None


def _hdr_facts(entry: dict[str, Any]) -> dict[str, float | None]:
    """hdr.json's fields for one endpoint, without the histogram blob."""
    facts: dict[str, float | None] = {
        field: _number(entry.get(field)) for field in HDR_FIELDS if field in entry
    }
    if facts.get("count") is not None:
        facts["count"] = int(facts["count"] or 0)
    return facts


def _counts(row: pd.Series) -> dict[str, Any]:
    requests, failures = int(row["requests"]), int(row["failures"])
    facts: dict[str, Any] = {
        "requests": requests,
        "failures": failures,
        "error_rate": failures / requests if requests else 0.0,
        "rps": _number(row["rps"]),
    }
    facts |= {p: _number(row[p]) for p in PERCENTILES if p in row.index}
    if "p50_ms" not in facts and "median_ms" in row.index:
        facts["p50_ms"] = _number(row["median_ms"])
    return facts


def _totals(data: RunData) -> dict[str, Any]:
    totals = _counts(data.aggregated)
    hdr = _hdr(data, AGGREGATED)
    if hdr is not None:
        totals["hdr"] = hdr
    return totals


def _endpoints(data: RunData) -> list[dict[str, Any]]:
    total = int(data.aggregated["requests"])
    intended = intended_shares((data.run or {}).get("mix"))
    entries = []
    for _, row in data.endpoints.iterrows():
        entry = {"name": row["endpoint"], "method": row["method"], **_counts(row)}
        entry["share"] = int(row["requests"]) / total if total else 0.0
        entry["intended_share"] = intended.get(row["endpoint"])
        hdr = _hdr(data, row["endpoint"])
        if hdr is not None:
            entry["hdr"] = hdr
        entries.append(entry)
    return entries


def _open_model(data: RunData) -> dict[str, Any] | None:
    """Open-model runs: the arrival-rate tally (run.json, else hdr.json) and the latency
    measured from each send's intended time, per endpoint and `Aggregated`."""
    facts = (data.run or {}).get("open_model") or (data.hdr or {}).get("open_model")
    intended = (data.hdr or {}).get("intended")
    if not isinstance(facts, dict) and not isinstance(intended, dict):
        return None
    result: dict[str, Any] = dict(facts) if isinstance(facts, dict) else {}
    if isinstance(intended, dict):
        result["intended"] = {
            key: _hdr_facts(entry) for key, entry in intended.items() if isinstance(entry, dict)
        }
    return result


def _server(snapshots: pd.DataFrame | None) -> dict[str, Any] | None:
    if snapshots is None or snapshots.empty:
        return None
    fallbacks = server.total_increase(snapshots, server.FALLBACKS, ["reason"])
    return {
        "cache_hit_ratio": server.cache_hit_ratio(snapshots),
        "queries": server.queries_by_pool(snapshots),
        "replica_read_share": server.replica_read_share(snapshots),
        "replica_query_ms": server.replica_query_ms(snapshots),
        "rate_limited": round(float(server.total_increase(snapshots, server.RATE_LIMITED).sum())),
        "replica_fallbacks": {str(k): round(float(v)) for k, v in fallbacks.items()},
    }


def summarise(data: RunData, slo: Slo, saturation: Saturation | None) -> dict[str, Any]:
    """The summary.json object for a loaded run."""
    summary: dict[str, Any] = {
        "totals": _totals(data),
        "endpoints": _endpoints(data),
        "slo": slo.as_dict(),
    }
    found, capacity = analyse_capacity(data, slo, saturation)
    if saturation is not None:
        if saturation.capacity_rps is not None:
            summary["capacity_rps"] = saturation.capacity_rps
        summary["saturation"] = saturation.as_dict()
        summary["saturation"]["limit"] = limit_text(saturation, found, capacity)
    summary["capacity"] = capacity.as_dict()
    summary["use"] = [row.as_dict() for row in found.rows]
    summary["open_model"] = _open_model(data)
    summary["server"] = _server(data.snapshots)
    summary["run"] = data.run
    return summary


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
    """Read a run directory and return its summary.json object (`ReportInputError` if unusable)."""
    slo = slo or Slo()
    data = load_run(run_dir)
    return summarise(data, slo, analyse(data, slo))


def dump_summary(summary: dict[str, Any], run_dir: Path) -> Path:
    path = run_dir / SUMMARY_FILE
    text = json.dumps(summary, indent=2, allow_nan=False, default=_plain)
    path.write_text(text + "\n", encoding="utf-8")
    return path


def write_summary(run_dir: Path, *, slo: Slo | None = None) -> Path:
    """Write `<run_dir>/summary.json` and return its path."""
    return dump_summary(build_summary(run_dir, slo=slo), run_dir)


def _plain(value: Any) -> Any:
    """numpy scalars that slipped through become Python numbers (NaN -> null)."""
    if hasattr(value, "item"):
        item = value.item()
        return None if isinstance(item, float) and math.isnan(item) else item
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
