"""Numbers as a reader wants them, shared by the HTML and Markdown pages."""

from __future__ import annotations

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


def slo_verdict(summary: dict[str, Any]) -> str:
    """One sentence: did the whole run meet the SLO?"""
    totals, slo = summary["totals"], summary["slo"]
    p95 = (totals.get("hdr") or {}).get("p95_ms", totals.get("p95_ms"))
    errors = totals["error_rate"]
    latency_ok = isinstance(p95, int | float) and p95 <= slo["p95_ms"]
    errors_ok = errors <= slo["max_error_rate"]
    verdict = "met" if latency_ok and errors_ok else "not met"
    return (
        f"SLO {verdict}: p95 {ms(p95)} (objective ≤ {slo['p95_ms']:g} ms), "
        f"error rate {share(errors)} (objective ≤ {share(slo['max_error_rate'])})."
    )


def run_line(run: dict[str, Any] | None) -> str:
    """What was asked: host, shape, users, duration, processes."""
    if not run:
        return "No run.json: a plain Locust run (what was asked is unknown)."
    parts = [f"host {run.get('host', '?')}"]
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
