"""Numbers as a reader wants them, shared by the HTML and Markdown pages."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from reports.compare import Delta
from reports.windows import HISTORY, SOURCES
from rundir.hdr_json import AGGREGATED, LatencyFacts
from rundir.run_json import RunRecord
from rundir.summary_json import (
    Summary,
    SummaryCapacity,
    SummaryOpenModel,
    SummarySaturation,
    SummaryServer,
    SummaryUseRow,
)

MISSING = "n/a"


def ms(value: Any) -> str:
    if not isinstance(value, int | float):
        return MISSING
    return f"{value:.1f} ms" if value < 10 else f"{value:.0f} ms"


def rate(value: Any) -> str:
    return f"{value:.1f}" if isinstance(value, int | float) else MISSING


def share(value: Any) -> str:
    if not isinstance(value, int | float):
        return MISSING
    return f"{value:.2%}" if 0 < value < 0.01 else f"{value:.1%}"


def count(value: Any) -> str:
    return f"{value:,.0f}" if isinstance(value, int | float) else MISSING


def intended_totals(summary: Summary) -> LatencyFacts | None:
    """Open-model runs: the Aggregated latency measured from the intended send times."""
    intended = (summary.open_model.intended if summary.open_model else None) or {}
    return intended.get(AGGREGATED)


def slo_verdict(summary: Summary) -> str:
    """One sentence: did the whole run meet the SLO?"""
    totals, slo = summary.totals, summary.slo
    objective = slo.p95_ms if slo and slo.p95_ms is not None else math.inf
    budget = slo.max_error_rate if slo and slo.max_error_rate is not None else 1.0
    exact = totals.hdr.p95_ms if totals.hdr else None
    p95 = exact if exact is not None else totals.p95_ms
    label = "p95"
    intended = intended_totals(summary)
    if intended is not None and intended.p95_ms is not None:
        # In an open-model run the users' wait includes queueing before the send.
        p95, label = intended.p95_ms, "p95 from intended send time"
    errors = totals.error_rate or 0.0
    latency_ok = p95 is not None and p95 <= objective
    errors_ok = errors <= budget
    verdict = "met" if latency_ok and errors_ok else "not met"
    return (
        f"SLO {verdict}: {label} {ms(p95)} (objective ≤ {objective:g} ms), "
        f"error rate {share(errors)} (objective ≤ {share(budget)})."
    )


OPEN_MODEL_NOTE = (
    "Open model: requests were sent on a fixed schedule whatever the response times. "
    "Latency from the intended send time includes the wait before a late send (no "
    "coordinated omission); the other percentiles in this report are service time."
)


def open_model_rows(facts: SummaryOpenModel) -> list[list[str]]:
    """Target and achieved rate, late and dropped sends, latency from intended send time."""
    sent, late = facts.sent, facts.late_sends
    late_share = late / sent if late is not None and sent else None
    rows = [
        ["arrival rate: target / achieved", f"{rate(facts.target_rps)} / "
         f"{rate(facts.achieved_rps)} req/s"],
        ["sends: scheduled / sent / completed", " / ".join(
            count(n) for n in (facts.scheduled, facts.sent, facts.completed))],
        ["late sends (started behind schedule)", f"{count(late)} ({share(late_share)})"],
        ["dropped (due, never started)", count(facts.dropped)],
    ]  # fmt: skip
    intended = (facts.intended or {}).get(AGGREGATED)
    if intended is not None:
        figures = (intended.p50_ms, intended.p95_ms, intended.p99_ms, intended.p999_ms)
        rows.append(
            ["p50 / p95 / p99 / p99.9 from intended send time",
             " / ".join(ms(value) for value in figures)]
        )  # fmt: skip
    return rows


def run_line(run: RunRecord | None) -> str:
    """What was asked: host, shape, users, duration, processes."""
    if run is None:
        return "No run.json: a plain Locust run (what was asked is unknown)."
    parts = [f"host {run.host or '?'}"]
    if run.open_model is not None:
        parts.append(f"open model at {rate(run.open_model.target_rps)} req/s")
    else:
        parts.append(f"shape {run.shape or 'constant'}")
        peak = peak_users(run)
        if peak is not None:
            parts.append(f"peak {peak} users" if run.shape else f"{peak} users")
    if run.duration_s is not None:
        parts.append(f"{run.duration_s:.0f} s")
    if (run.processes or 1) > 1:
        parts.append(f"{run.processes} processes")
    if run.started_at:
        parts.append(f"started {timestamp(run.started_at)}")
    return ", ".join(parts) + "."


def peak_users(run: RunRecord) -> int | None:
    """The most users the run had: a shape's highest stage, else the flag (run.json)."""
    levels = [s.users for s in run.stages or [] if s.users is not None]
    return max(levels) if levels else run.users


def timestamp(value: Any) -> str:
    """An ISO timestamp as a reader wants it: '2026-12-01 08:38:47 UTC'."""
    from datetime import UTC, datetime

    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if moment.tzinfo is not None:
        return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"
    return f"{moment:%Y-%m-%d %H:%M:%S}"


def _plain(metric: str, value: float | None) -> str:
    if value is None:
        return MISSING
    if metric == "error_rate":
        return share(value)
    return f"{value:.1f}" if metric == "rps" or value < 10 else f"{value:.0f}"


def change_cell(item: Delta) -> str:
    """'7.2 → 9.0 (+25%)': baseline, current and the change, in the column's unit."""
    text = f"{_plain(item.metric, item.baseline)} → {_plain(item.metric, item.current)}"
    change, relative = item.change, item.relative
    if change is None:
        return text
    if item.metric == "error_rate":
        return f"{text} ({change * 100:+.2f} pp)"
    return f"{text} ({relative:+.0%})" if relative is not None else text


COMPARISON_HEADERS = {
    "rps": "req/s",
    "p50_ms": "p50 (ms)",
    "p95_ms": "p95 (ms)",
    "p99_ms": "p99 (ms)",
    "error_rate": "error rate",
}


# The tables both pages show: header and rows of text, rendered by html.py and markdown.py.

ENDPOINT_HEADER = [
    "endpoint", "requests", "req/s", "errors", "p50", "p95", "p99", "share", "intended",
]  # fmt: skip
STAGE_HEADER = ["users", "req/s", "p95", "errors", "met SLO"]


def totals_rows(summary: Summary) -> list[list[str]]:
    t = summary.totals
    rows = [
        ["requests", count(t.requests)],
        ["failures", f"{count(t.failures)} ({share(t.error_rate)})"],
        ["throughput", f"{rate(t.rps)} req/s"],
        ["p50 / p95 / p99", " / ".join(ms(v) for v in (t.p50_ms, t.p95_ms, t.p99_ms))],
    ]
    if t.hdr:
        exact = " / ".join(ms(v) for v in (t.hdr.p95_ms, t.hdr.p99_ms, t.hdr.p999_ms))
        rows.append(["exact p95 / p99 / p99.9 (HDR)", exact])
    return rows


def endpoint_rows(summary: Summary) -> list[list[str]]:
    return [
        [
            e.name,
            count(e.requests),
            rate(e.rps),
            share(e.error_rate),
            ms(e.p50_ms),
            ms(e.p95_ms),
            ms(e.p99_ms),
            share(e.share),
            share(e.intended_share),
        ]
        for e in summary.endpoints
    ]


def stage_rows(saturation: SummarySaturation) -> list[list[str]]:
    """The last cell is "yes"/"no": each page marks a failed stage its own way."""
    return [
        [
            str(s.users),
            rate(s.rps),
            ms(s.p95_ms),
            share(s.error_rate),
            "yes" if s.met_slo else "no",
        ]
        for s in saturation.stages
    ]


def capacity_headline(
    saturation: SummarySaturation,
    *,
    strong: Callable[[str], str],
    capacity: SummaryCapacity | None = None,
) -> str:
    """`strong` marks the figure up (bold in Markdown, <strong> in HTML). A figure the load
    generator capped is called what it is: an observation, not the service's capacity."""
    observed = saturation.capacity_rps
    if observed is None:
        return strong("No step met the SLO.")
    if capacity and capacity.generator_saturated:
        figure = strong(f"Observed: {rate(observed)} req/s")
        return (
            f"{figure} — the highest step throughput that met the SLO, capped by the load "
            "generator: a lower bound, not the service's capacity (see Capacity below)."
        )
    figure = strong(f"Capacity: {rate(observed)} req/s")
    return f"{figure} — the highest step throughput that met the SLO."


def server_rows(facts: SummaryServer) -> list[list[str]]:
    queries = ", ".join(f"{pool} {count(n)}" for pool, n in (facts.queries or {}).items())
    fallbacks = ", ".join(f"{r} {count(n)}" for r, n in (facts.replica_fallbacks or {}).items())
    return [
        ["cache hit ratio", share(facts.cache_hit_ratio)],
        ["queries by pool", queries or MISSING],
        ["reads served by replicas", share(facts.replica_read_share)],
        ["rate-limited (429)", count(facts.rate_limited)],
        ["replica fallbacks", fallbacks or "none"],
    ]


# The capacity section: what the run measured, of what, and the USE table behind it.

LIMIT_NAMES = {
    "load_generator": "load generator",
    "service_cpu": "service CPU",
    "db_pool": "database pool",
    "errors": "errors",
    "slo_latency": "SLO latency",
    "none": "none",
}
BASIS_NAMES = {
    "observed": "observed (the highest throughput that met the SLO)",
    "utilization_law": "Utilization Law (1 / service demand)",
}
USE_HEADER = [
    "users", "req/s", "p95", "errors", "generator CPU", "service CPU", "CPU / request",
    "X·R (in flight)", "DB pool", "cache errors", "other CPU", "limit",
]  # fmt: skip


def _cores(used: Any, available: Any) -> str:
    if not isinstance(used, int | float):
        return MISSING
    if isinstance(available, int | float) and available:
        return f"{used:.2f} of {available:g} ({used / available:.0%})"
    return f"{used:.2f} cores"


def _demand_ms(seconds: Any) -> str:
    return f"{seconds * 1000:.3f} ms" if isinstance(seconds, int | float) else MISSING


THROTTLED_COLUMN = "CPU cap throttled"


def use_header(summary: Summary) -> list[str]:
    """USE_HEADER, with the throttling column before `limit` when the service had a cap."""
    if not _capped(summary):
        return USE_HEADER
    return [*USE_HEADER[:-1], THROTTLED_COLUMN, USE_HEADER[-1]]


def _capped(summary: Summary) -> bool:
    return any(r.cpu_periods is not None for r in summary.use or [])


def _throttled(r: SummaryUseRow) -> str:
    if r.throttled_periods is None or r.cpu_periods is None:
        return MISSING
    share = f"{r.throttled_share:.0%} of " if r.throttled_share is not None else ""
    stalled = f", {r.throttled_s:.2f} s" if r.throttled_s is not None else ""
    return f"{share}{r.cpu_periods:,.0f} periods{stalled}"


def use_rows(summary: Summary) -> list[list[str]]:
    capped = _capped(summary)
    rows = []
    for r in summary.use or []:
        pool = MISSING
        if r.pool_size:
            pool = f"{count(r.pool_in_use)} / {count(r.pool_size)}"
        generator = r.generator_cpu
        rows.append(
            [
                str(r.users),
                rate(r.rps),
                ms(r.p95_ms),
                share(r.error_rate),
                f"{generator:.0%}" if generator is not None else MISSING,
                _cores(r.service_cores_used, r.service_cores_available),
                _demand_ms(r.service_cpu_s_per_request),
                f"{rate(r.in_flight)} of {r.users}",
                pool,
                count(r.cache_errors),
                f"{r.other_cores:.2f} cores" if r.other_cores is not None else MISSING,
                *([_throttled(r)] if capped else []),
                LIMIT_NAMES.get(str(r.limit), str(r.limit)),
            ]
        )
    return rows


def throughput_note(summary: Summary) -> str | None:
    """Said under the USE table when a stage's throughput came from the stats history."""
    if not any(r.rps_from == HISTORY for r in summary.use or []):
        return None
    return f"Stage throughput from {SOURCES[HISTORY]}."


def capacity_rows(capacity: SummaryCapacity) -> list[list[str]]:
    """The capacity object's facts, each saying what it is the capacity of."""
    per_core = capacity.per_core_rps
    figure = capacity.service_capacity_rps
    bound = " (lower bound)" if capacity.lower_bound else ""
    rows = [
        ["first limit", LIMIT_NAMES.get(str(capacity.first_limit), MISSING)],
        [
            "generator saturated",
            "yes: the observed figure is the generator's ceiling"
            if capacity.generator_saturated
            else "no",
        ],
        ["observed at the SLO (clients)", f"{rate(capacity.observed_rps)} req/s"],
        ["service CPU per request (D)", _demand_ms(capacity.service_cpu_s_per_request)],
        ["per core (1 / D)", f"{rate(per_core)} req/s" if per_core else MISSING],
        [
            "service capacity at this configuration",
            f"{rate(figure)} req/s{bound}" if figure else MISSING,
        ],
        ["basis", BASIS_NAMES.get(str(capacity.basis), MISSING)],
    ]
    if capacity.cpu_model:
        rows.append(["measured on", capacity.cpu_model])
    check = capacity.model_check
    if check is not None:
        rows += [
            ["CPU cap", f"{check.cap_cores:g} cores" if check.cap_cores else MISSING],
            ["model check: predicted (cap / D)", f"{rate(check.predicted_rps)} req/s"],
            ["model check: observed at saturation", f"{rate(check.observed_rps)} req/s"],
            [
                "model check: error (observed / predicted - 1)",
                f"{check.error:+.1%}" if check.error is not None else MISSING,
            ],
        ]
    return rows
