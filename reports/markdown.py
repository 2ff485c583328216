"""report.md: the report's facts in Markdown, for a CI step summary or a PR comment."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from reports import formatting as fmt
from reports.compare import METRICS, EndpointComparison


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    def cells(values: Sequence[str]) -> str:
        return "| " + " | ".join(v.replace("|", "\\|") for v in values) + " |"

    return [cells(header), cells(["---"] * len(header)), *(cells(row) for row in rows), ""]


def _totals(summary: dict[str, Any]) -> list[str]:
    t = summary["totals"]
    hdr = t.get("hdr") or {}
    rows = [
        ["requests", fmt.count(t["requests"])],
        ["failures", f"{fmt.count(t['failures'])} ({fmt.share(t['error_rate'])})"],
        ["throughput", f"{fmt.rate(t['rps'])} req/s"],
        *(
            [name, fmt.ms(t.get(key))]
            for name, key in (("p50", "p50_ms"), ("p95", "p95_ms"), ("p99", "p99_ms"))
        ),
    ]
    if hdr:
        rows.append(
            [
                "exact p95 / p99 / p99.9 (HDR)",
                " / ".join(fmt.ms(hdr.get(k)) for k in ("p95_ms", "p99_ms", "p999_ms")),
            ]
        )
    return ["## Totals", "", fmt.slo_verdict(summary), "", *_table(["", "value"], rows)]


def _saturation(summary: dict[str, Any]) -> list[str]:
    saturation = summary.get("saturation")
    if not saturation:
        return []
    capacity = saturation.get("capacity_rps")
    head = (
        f"**Capacity: {fmt.rate(capacity)} req/s** — the highest step throughput that met the SLO."
        if capacity is not None
        else "**No step met the SLO.**"
    )
    rows = [
        [
            str(s["users"]),
            f"{fmt.rate(s['rps'])}",
            fmt.ms(s["p95_ms"]),
            fmt.share(s["error_rate"]),
            "yes" if s["met_slo"] else "**no**",
        ]
        for s in saturation["stages"]
    ]
    return [
        "## Saturation",
        "",
        head,
        "",
        saturation["limit"],
        "",
        *_table(["users", "req/s", "p95", "errors", "met SLO"], rows),
    ]


def _endpoints(summary: dict[str, Any]) -> list[str]:
    rows = [
        [
            e["name"],
            fmt.count(e["requests"]),
            fmt.rate(e["rps"]),
            fmt.share(e["error_rate"]),
            fmt.ms(e.get("p50_ms")),
            fmt.ms(e.get("p95_ms")),
            fmt.ms(e.get("p99_ms")),
            fmt.share(e["share"]),
            fmt.share(e.get("intended_share")),
        ]
        for e in summary["endpoints"]
    ]
    header = ["endpoint", "requests", "req/s", "errors", "p50", "p95", "p99", "share", "intended"]
    return ["## Endpoints", "", *_table(header, rows)]


def _server(summary: dict[str, Any]) -> list[str]:
    facts = summary.get("server")
    if not facts:
        return ["## Server", "", "No /metrics snapshots in this run.", ""]
    queries = ", ".join(f"{pool} {fmt.count(n)}" for pool, n in facts["queries"].items())
    fallbacks = ", ".join(f"{r} {fmt.count(n)}" for r, n in facts["replica_fallbacks"].items())
    rows = [
        ["cache hit ratio", fmt.share(facts["cache_hit_ratio"])],
        ["queries by pool", queries or fmt.MISSING],
        ["rate-limited (429)", fmt.count(facts["rate_limited"])],
        ["replica fallbacks", fallbacks or "none"],
    ]
    return ["## Server", "", *_table(["", "value"], rows)]


def _comparison(comparisons: Sequence[EndpointComparison], baseline_name: str) -> list[str]:
    rows = []
    for item in comparisons:
        cells = [item.endpoint]
        for metric in METRICS:
            d = item.deltas[metric]
            cells.append(
                f"**{fmt.change_cell(d)} regression**" if d.regression else fmt.change_cell(d)
            )
        rows.append(cells)
    regressed = [c.endpoint for c in comparisons if c.regressed]
    head = (
        f"Regressions in: {', '.join(regressed)}."
        if regressed
        else "No regression beyond tolerance."
    )
    header = ["scope", *(fmt.COMPARISON_HEADERS[m] for m in METRICS)]
    return [
        f"## Compared with baseline `{baseline_name}`",
        "",
        head,
        "",
        "Each cell: baseline → current (change).",
        "",
        *_table(header, rows),
    ]


def _failures(failures: Sequence[tuple[str, str, int]]) -> list[str]:
    if not failures:
        return []
    rows = [[name, error, fmt.count(n)] for name, error, n in failures]
    return ["## Failures", "", *_table(["endpoint", "error", "count"], rows)]


def markdown_report(
    summary: dict[str, Any],
    *,
    title: str,
    failures: Sequence[tuple[str, str, int]] = (),
    comparisons: Sequence[EndpointComparison] = (),
    baseline_name: str = "",
) -> str:
    lines = [f"# loadcap report: {title}", "", fmt.run_line(summary.get("run")), ""]
    lines += _totals(summary) + _saturation(summary) + _endpoints(summary)
    lines += _server(summary) + _failures(failures)
    if comparisons:
        lines += _comparison(comparisons, baseline_name)
    return "\n".join(lines).rstrip() + "\n"
