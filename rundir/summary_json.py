"""`summary.json`: the machine-readable facts of a run, the SPEC contract (docs/run-directory.md).

Written by `reports/summary.py` (`summarise`, saved by `write_summary`: at the end of
`loadcap run` and by `loadcap report`); read by the gate (`reports/gate_facts.py`), plans
(`capacity/runs.py`), the reports' pages and comparison, and the pipeline's closing lines.

A reader may get a summary.json loadcap did not write (a CI cache, a hand-made one), so only
`totals` and each endpoint's `name` are required; a reader that needs more says so itself.
`capacity_rps`, `saturation` and the `hdr` objects are left out when they do not apply.
"""

from __future__ import annotations

from pathlib import Path

import msgspec
from msgspec import UNSET, UnsetType

from rundir.document import read_document, write_document
from rundir.hdr_json import LatencyFacts, OpenModelTally
from rundir.run_json import RunRecord

SUMMARY_FILE = "summary.json"

__all__ = [
    "SUMMARY_FILE",
    "LatencyFacts",
    "Summary",
    "SummaryCapacity",
    "SummaryEndpoint",
    "SummaryModelCheck",
    "SummaryOpenModel",
    "SummarySaturation",
    "SummaryServer",
    "SummarySlo",
    "SummaryStage",
    "SummaryTotals",
    "SummaryUseRow",
    "read_summary",
    "write_summary_document",
]


class SummaryTotals(msgspec.Struct, frozen=True, kw_only=True):
    """The run's totals: Locust's `Aggregated` row, and its exact percentiles (hdr.json)."""

    requests: int | None = None
    failures: int | None = None
    error_rate: float | None = None
    rps: float | None = None  # null when Locust had nothing to divide by
    p50_ms: float | None = None  # null where Locust wrote N/A
    p90_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    hdr: LatencyFacts | UnsetType = UNSET  # only when hdr.json has `Aggregated`


class SummaryEndpoint(msgspec.Struct, frozen=True, kw_only=True):
    """One endpoint, named `"<METHOD> <name>"` like hdr.json's keys."""

    name: str
    method: str | None = None
    requests: int | None = None
    failures: int | None = None
    error_rate: float | None = None
    rps: float | None = None
    p50_ms: float | None = None
    p90_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    share: float | None = None  # of all requests
    intended_share: float | None = None  # from run.json's mix; null without one
    hdr: LatencyFacts | UnsetType = UNSET  # only when hdr.json has this endpoint


class SummarySlo(msgspec.Struct, frozen=True, kw_only=True):
    p95_ms: float | None = None
    max_error_rate: float | None = None


class SummaryStage(msgspec.Struct, frozen=True, kw_only=True):
    """A step of a step run, measured over its second half."""

    users: int | None = None
    start_s: float | None = None
    end_s: float | None = None
    rps: float | None = None
    p95_ms: float | None = None
    error_rate: float | None = None
    met_slo: bool | None = None
    # Where `rps` and `error_rate` came from: "windows" (windows.json, exact for any number
    # of Locust processes) or "history" (Locust's stats history, for runs without windows)
    rps_from: str | None = None


class SummarySaturation(msgspec.Struct, frozen=True, kw_only=True):
    capacity_rps: float | None = None  # the highest stage throughput that met the SLO
    limit: str | None = None  # a sentence: what hit its limit first
    stages: list[SummaryStage] = []


class SummaryModelCheck(msgspec.Struct, frozen=True, kw_only=True):
    """Under a CPU cap, when the service saturated: the Utilization Law's prediction from the
    unsaturated stages beside the throughput observed at saturation (SPEC contract)."""

    cap_cores: float | None = None
    service_cpu_s_per_request: float | None = None  # D, from the unsaturated stages
    demand_from: list[int] | None = None  # users of those stages
    predicted_rps: float | None = None  # cap / D
    observed_rps: float | None = None  # the saturated stages' throughput (their median)
    observed_from: list[int] | None = None  # users of the saturated stages
    error: float | None = None  # observed / predicted - 1, a ratio
    other_cores: float | None = None  # the most CPU other programs took meanwhile
    sentence: str | None = None


class SummaryCapacity(msgspec.Struct, frozen=True, kw_only=True):
    """What the run measured and what it is the capacity *of* (SPEC contract)."""

    observed_rps: float | None = None
    service_cpu_s_per_request: float | None = None  # service demand D
    per_core_rps: float | None = None  # 1 / D
    basis: str | None = None  # "observed" | "utilization_law"
    generator_saturated: bool | None = None
    # "load_generator" | "service_cpu" | "db_pool" | "errors" | "slo_latency" | "none"
    first_limit: str | None = None
    service_cores: float | None = None
    service_capacity_rps: float | None = None
    lower_bound: bool | None = None
    demand_from: list[int] | None = None  # users of the stages D was taken from
    cpu_model: str | None = None
    sentence: str | None = None
    model_check: SummaryModelCheck | None = None  # only under a CPU cap that saturated


class SummaryUseRow(SummaryStage, frozen=True, kw_only=True):
    """One stage of the USE table: what clients saw (the stage's fields) and what each
    resource did meanwhile."""

    generator_cpu: float | None = None  # the busiest Locust process, share of one core
    service_cores_used: float | None = None
    service_cores_available: float | None = None
    service_cpu_s: float | None = None
    service_requests: float | None = None
    service_cpu_s_per_request: float | None = None
    in_flight: float | None = None  # Little's law: X · R
    pool: str | None = None
    pool_in_use: int | None = None
    pool_size: int | None = None
    pool_full_share: float | None = None
    cache_errors: float | None = None
    other_cores: float | None = None
    # Under a CPU cap: CFS periods the service ran in, those it was throttled in (its whole
    # quota used, then stalled), the time stalled, and throttled / periods.
    cpu_periods: float | None = None
    throttled_periods: float | None = None
    throttled_s: float | None = None
    throttled_share: float | None = None
    limit: str | None = None
    service_utilization: float | None = None


class SummaryOpenModel(OpenModelTally, frozen=True, kw_only=True, omit_defaults=True):
    """run.json's open-model tally (else hdr.json's) and the latency from each send's
    intended time, per endpoint and `Aggregated` (hdr.json's `intended`, without histograms)."""

    intended: dict[str, LatencyFacts] | None = None


class SummaryServer(msgspec.Struct, frozen=True, kw_only=True):
    """The service's side, from the /metrics snapshots."""

    cache_hit_ratio: float | None = None
    queries: dict[str, int] | None = None  # by pool: master, replica0, …
    replica_read_share: float | None = None
    replica_query_ms: float | None = None
    rate_limited: int | None = None
    # The limiter's backend (Redis) failed this often: it let those requests through unlimited.
    rate_limit_errors: int | None = None
    replica_fallbacks: dict[str, int] | None = None  # by reason


class Summary(msgspec.Struct, frozen=True, kw_only=True):
    totals: SummaryTotals
    endpoints: list[SummaryEndpoint] = []
    slo: SummarySlo | None = None
    capacity_rps: float | UnsetType = UNSET  # only when a step met the SLO
    saturation: SummarySaturation | UnsetType = UNSET  # only for a step run
    capacity: SummaryCapacity | None = None
    use: list[SummaryUseRow] | None = None
    open_model: SummaryOpenModel | None = None  # null for a closed-model run
    server: SummaryServer | None = None  # null without metrics/
    run: RunRecord | None = None  # run.json; null without it


def read_summary(path: Path) -> Summary:
    """summary.json decoded; `rundir.document.DocumentError` when unreadable or mistyped."""
    return read_document(path, Summary)


def write_summary_document(path: Path, summary: Summary) -> Path:
    return write_document(path, summary)
