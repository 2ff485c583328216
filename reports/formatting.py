"""Numbers as a reader wants them, shared by the HTML and Markdown pages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from reports.compare import Delta

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


def intended_totals(summary: dict[str, Any]) -> dict[str, Any] | None:
    """Open-model runs: the Aggregated latency measured from the intended send times."""
    intended = (summary.get("open_model") or {}).get("intended") or {}
    aggregated = intended.get("Aggregated")
    return aggregated if isinstance(aggregated, dict) else None


def slo_verdict(summary: dict[str, Any]) -> str:
    """One sentence: did the whole run meet the SLO?"""
    totals, slo = summary["totals"], summary["slo"]
    p95 = (totals.get("hdr") or {}).get("p95_ms", totals.get("p95_ms"))
    label = "p95"
    intended = intended_totals(summary)
    if intended is not None and intended.get("p95_ms") is not None:
        # In an open-model run the users' wait includes queueing before the send.
        p95, label = intended["p95_ms"], "p95 from intended send time"
    errors = totals["error_rate"]
    latency_ok = isinstance(p95, int | float) and p95 <= slo["p95_ms"]
    errors_ok = errors <= slo["max_error_rate"]
    verdict = "met" if latency_ok and errors_ok else "not met"
    return (
        f"SLO {verdict}: {label} {ms(p95)} (objective ≤ {slo['p95_ms']:g} ms), "
        f"error rate {share(errors)} (objective ≤ {share(slo['max_error_rate'])})."
    )


OPEN_MODEL_NOTE = (
    "Open model: requests were sent on a fixed schedule whatever the response times. "
    "Latency from the intended send time includes the wait before a late send (no "
    "coordinated omission); the other percentiles in this report are service time."
)


def open_model_rows(facts: dict[str, Any]) -> list[list[str]]:
    """Target and achieved rate, late and dropped sends, latency from intended send time."""
    sent = facts.get("sent")
    late = facts.get("late_sends")
    late_share = late / sent if isinstance(late, int | float) and sent else None
    rows = [
        ["arrival rate: target / achieved", f"{rate(facts.get('target_rps'))} / "
         f"{rate(facts.get('achieved_rps'))} req/s"],
        ["sends: scheduled / sent / completed", " / ".join(
            count(facts.get(key)) for key in ("scheduled", "sent", "completed"))],
        ["late sends (started behind schedule)", f"{count(late)} ({share(late_share)})"],
        ["dropped (due, never started)", count(facts.get("dropped"))],
    ]  # fmt: skip
    intended = (facts.get("intended") or {}).get("Aggregated") or {}
    if intended:
        keys = ("p50_ms", "p95_ms", "p99_ms", "p999_ms")
        rows.append(
            ["p50 / p95 / p99 / p99.9 from intended send time",
             " / ".join(ms(intended.get(k)) for k in keys)]
        )  # fmt: skip
    return rows


def run_line(run: dict[str, Any] | None) -> str:
    """What was asked: host, shape, users, duration, processes."""
    if not run:
        return "No run.json: a plain Locust run (what was asked is unknown)."
    parts = [f"host {run.get('host', '?')}"]
    open_model = run.get("open_model")
    if isinstance(open_model, dict):
        parts.append(f"open model at {rate(open_model.get('target_rps'))} req/s")
    else:
        parts.append(f"shape {run.get('shape') or 'constant'}")
        if run.get("users") is not None:
            parts.append(f"{run['users']} users")
    if isinstance(run.get("duration_s"), int | float):
        parts.append(f"{run['duration_s']:.0f} s")
    if (run.get("processes") or 1) > 1:
        parts.append(f"{run['processes']} processes")
    if run.get("started_at"):
        parts.append(f"started {run['started_at']}")
    return ", ".join(parts) + "."


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


def totals_rows(summary: dict[str, Any]) -> list[list[str]]:
    t = summary["totals"]
    hdr = t.get("hdr") or {}
    rows = [
        ["requests", count(t["requests"])],
        ["failures", f"{count(t['failures'])} ({share(t['error_rate'])})"],
        ["throughput", f"{rate(t['rps'])} req/s"],
        ["p50 / p95 / p99", " / ".join(ms(t.get(k)) for k in ("p50_ms", "p95_ms", "p99_ms"))],
    ]
    if hdr:
        exact = " / ".join(ms(hdr.get(k)) for k in ("p95_ms", "p99_ms", "p999_ms"))
        rows.append(["exact p95 / p99 / p99.9 (HDR)", exact])
    return rows


def endpoint_rows(summary: dict[str, Any]) -> list[list[str]]:
    return [
        [
            e["name"],
            count(e["requests"]),
            rate(e["rps"]),
            share(e["error_rate"]),
            ms(e.get("p50_ms")),
            ms(e.get("p95_ms")),
            ms(e.get("p99_ms")),
            share(e["share"]),
            share(e.get("intended_share")),
        ]
        for e in summary["endpoints"]
    ]


def stage_rows(saturation: dict[str, Any]) -> list[list[str]]:
    """The last cell is "yes"/"no": each page marks a failed stage its own way."""
    return [
        [
            str(s["users"]),
            rate(s["rps"]),
            ms(s["p95_ms"]),
            share(s["error_rate"]),
            "yes" if s["met_slo"] else "no",
        ]
        for s in saturation["stages"]
    ]


def capacity_headline(
    saturation: dict[str, Any],
    *,
    strong: Callable[[str], str],
    capacity: dict[str, Any] | None = None,
) -> str:
    """`strong` marks the figure up (bold in Markdown, <strong> in HTML). A figure the load
    generator capped is called what it is: an observation, not the service's capacity."""
    observed = saturation.get("capacity_rps")
    if observed is None:
        return strong("No step met the SLO.")
    if capacity and capacity.get("generator_saturated"):
        figure = strong(f"Observed: {rate(observed)} req/s")
        return (
            f"{figure} — the highest step throughput that met the SLO, capped by the load "
            "generator: a lower bound, not the service's capacity (see Capacity below)."
        )
    figure = strong(f"Capacity: {rate(observed)} req/s")
    return f"{figure} — the highest step throughput that met the SLO."


def server_rows(facts: dict[str, Any]) -> list[list[str]]:
    queries = ", ".join(f"{pool} {count(n)}" for pool, n in facts["queries"].items())
    fallbacks = ", ".join(f"{r} {count(n)}" for r, n in facts["replica_fallbacks"].items())
    return [
        ["cache hit ratio", share(facts["cache_hit_ratio"])],
        ["queries by pool", queries or MISSING],
        ["reads served by replicas", share(facts.get("replica_read_share"))],
        ["rate-limited (429)", count(facts["rate_limited"])],
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


def use_rows(summary: dict[str, Any]) -> list[list[str]]:
    rows = []
    for r in summary.get("use") or []:
        pool = MISSING
        if isinstance(r.get("pool_size"), int | float) and r["pool_size"]:
            pool = f"{count(r.get('pool_in_use'))} / {count(r['pool_size'])}"
        generator = r.get("generator_cpu")
        rows.append(
            [
                str(r["users"]),
                rate(r["rps"]),
                ms(r.get("p95_ms")),
                share(r["error_rate"]),
                f"{generator:.0%}" if isinstance(generator, int | float) else MISSING,
                _cores(r.get("service_cores_used"), r.get("service_cores_available")),
                _demand_ms(r.get("service_cpu_s_per_request")),
                f"{rate(r.get('in_flight'))} of {r['users']}",
                pool,
                count(r.get("cache_errors")),
                f"{r['other_cores']:.2f} cores"
                if isinstance(r.get("other_cores"), int | float)
                else MISSING,
                LIMIT_NAMES.get(str(r["limit"]), str(r["limit"])),
            ]
        )
    return rows


def capacity_rows(capacity: dict[str, Any]) -> list[list[str]]:
    """The capacity object's facts, each saying what it is the capacity of."""
    per_core = capacity.get("per_core_rps")
    figure = capacity.get("service_capacity_rps")
    bound = " (lower bound)" if capacity.get("lower_bound") else ""
    rows = [
        ["first limit", LIMIT_NAMES.get(str(capacity.get("first_limit")), MISSING)],
        [
            "generator saturated",
            "yes: the observed figure is the generator's ceiling"
            if capacity.get("generator_saturated")
            else "no",
        ],
        ["observed at the SLO (clients)", f"{rate(capacity.get('observed_rps'))} req/s"],
        ["service CPU per request (D)", _demand_ms(capacity.get("service_cpu_s_per_request"))],
        ["per core (1 / D)", f"{rate(per_core)} req/s" if per_core else MISSING],
        [
            "service capacity at this configuration",
            f"{rate(figure)} req/s{bound}" if figure else MISSING,
        ],
        ["basis", BASIS_NAMES.get(str(capacity.get("basis")), MISSING)],
    ]
    if capacity.get("cpu_model"):
        rows.append(["measured on", str(capacity["cpu_model"])])
    return rows
