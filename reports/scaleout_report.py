"""report.html and report.md of a scale-out directory, from its decoded `scaleout.json`.

    write_scaleout_report(directory, read_scaleout(directory / SCALEOUT_FILE))

The page says, in order: the seed line (the question the scale-out answers), the fit with
its intervals, the chart, every point with what limited it, each tier's CPU per request and
which one bounds the fleet, why the curve bends (the instances' own work per request and the
evidence beside it), and each database node's connections against its maximum.
The tables are built once (`*_rows`) and laid out by both pages.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from pathlib import Path

from reports import formatting as fmt
from reports.figures import Chart
from reports.html import STYLE, _charts, _table
from reports.markdown import _table as _markdown_table
from reports.report import HTML_FILE, MARKDOWN_FILE
from reports.scaleout_charts import scaleout_charts
from reports.scaleout_evidence import EVIDENCE_HEADER, bend_sentence, evidence_rows
from rundir.scaleout_json import Interval, ScaleoutDocument, ScaleoutFit, ScaleoutSettings

POINT_HEADER = ["N", "X(N) req/s", "min-max", "repeats", "C(N)/N", "first limit", "fitted", "note"]


def write_scaleout_report(directory: Path, document: ScaleoutDocument) -> tuple[Path, Path]:
    """report.html and report.md in `directory`; their paths."""
    html_path = directory / HTML_FILE
    markdown_path = directory / MARKDOWN_FILE
    html_path.write_text(scaleout_html(document, scaleout_charts(document)), encoding="utf-8")
    markdown_path.write_text(scaleout_markdown(document), encoding="utf-8")
    return html_path, markdown_path


def settings_line(settings: ScaleoutSettings) -> str:
    counts = ", ".join(str(n) for n in settings.instances) or fmt.MISSING
    cap = (
        f"each instance capped at {settings.cpu_per_instance:g} core"
        if settings.cpu_per_instance
        else "instances not capped"
    )
    window = (
        f"{settings.duration_s:g} s measured per repeat" if settings.duration_s else "window n/a"
    )
    warmup = f" after {settings.warmup_s:g} s of warm-up" if settings.warmup_s else ""
    where = f"; {settings.machine_cpus} CPUs ({settings.cpu_model or 'model n/a'})"
    return (
        f"N = {counts}; {cap}; {window}{warmup}; {settings.repeat} repeat(s); "
        f"topology {settings.topology}, {settings.replicas} replica(s), "
        f"{'Redis' if settings.redis else 'no Redis'}" + (where if settings.machine_cpus else "")
    )


def _interval(interval: Interval | None, spec: str) -> str:
    if interval is None:
        return "no interval"
    return f"{interval.low:{spec}} to {interval.high:{spec}}"


def fit_rows(fit: ScaleoutFit) -> list[list[str]]:
    level = f"{fit.confidence:.0%} interval"
    peak = (
        f"{fit.peak_n:,.1f} (X = {fit.peak_throughput:,.0f} req/s)"
        if fit.peak_n is not None and fit.peak_throughput is not None
        else "none: kappa = 0, X(N) keeps rising"
    )
    rows = [
        [
            "sigma (contention)",
            f"{fit.sigma:.4g}",
            f"{level}: {_interval(fit.sigma_interval, '.3g')}",
        ],
        [
            "kappa (coherency)",
            f"{fit.kappa:.4g}",
            f"{level}: {_interval(fit.kappa_interval, '.3g')}",
        ],
        [
            "lambda (X of one instance)",
            f"{fit.lambda_:,.1f}",
            f"{level}: {_interval(fit.lambda_interval, ',.1f')}",
        ],
        ["N* (peak)", peak, ""],
    ]
    prediction = fit.predicted_at_100
    if prediction is not None:
        rows.append(
            [
                f"X({prediction.instances})",
                f"{prediction.throughput_rps:,.0f} req/s",
                f"{level}: {_interval(prediction.interval, ',.0f')} ({prediction.method} method)",
            ]
        )
    rows.append(
        [
            "R^2",
            f"{fit.r_squared:.4f}" if fit.r_squared is not None else fmt.MISSING,
            f"{fit.points} measurements at N = {', '.join(map(str, fit.instance_counts))}; "
            f"{fit.dof} degrees of freedom",
        ]
    )
    return rows


def point_rows(document: ScaleoutDocument) -> list[list[str]]:
    rows = []
    for point in document.points:
        spread = point.spread
        note = point.reason or ""
        if point.superlinear:
            note = f"superlinear: {point.superlinear_cause}" + (f"; {note}" if note else "")
        rows.append(
            [
                str(point.instances),
                f"{point.throughput_rps:,.1f}",
                f"{spread.min_rps:,.0f}-{spread.max_rps:,.0f}" if spread else fmt.MISSING,
                str(spread.repeats if spread else len(point.repeats)),
                f"{point.efficiency:.2f}" if point.efficiency is not None else fmt.MISSING,
                point.first_limit or fmt.MISSING,
                "yes" if point.fitted else "no",
                note,
            ]
        )
    return rows


REPEAT_HEADER = ["N", "order", "X req/s", "p95", "errors", "first limit", "evidence", "run dir"]


def repeat_rows(document: ScaleoutDocument) -> list[list[str]]:
    """Every measurement, in the order it ran, with its own verdict."""
    repeats = [r for p in document.points for r in p.repeats]
    repeats.sort(key=lambda r: (r.sequence is None, r.sequence or 0, r.instances))
    return [
        [
            str(r.instances),
            str(r.sequence) if r.sequence is not None else fmt.MISSING,
            f"{r.throughput_rps:,.1f}",
            fmt.ms(r.p95_ms),
            fmt.share(r.error_rate),
            r.first_limit or fmt.MISSING,
            r.limit_reason or "",
            r.run_dir or "",
        ]
        for r in repeats
    ]


def tier_header(document: ScaleoutDocument) -> list[str]:
    counts = [f"N = {p.instances}" for p in document.points]
    return ["tier", "role", *counts, "fleet bound req/s"]


def tier_rows(document: ScaleoutDocument) -> list[list[str]]:
    """Per tier, per point: cores used of available, and CPU-ms per request (its demand)."""
    names: dict[str, str] = {}
    for point in document.points:
        for tier in point.tiers:
            names.setdefault(tier.name, tier.role)
    bottleneck = document.bottleneck
    demands = bottleneck.demands if bottleneck else {}
    rows = []
    for name, role in names.items():
        cells = []
        for point in document.points:
            found = next((t for t in point.tiers if t.name == name), None)
            cells.append(
                _tier_cell(found.cores_used, found.cores_available, found.cpu_s_per_request)
                if found
                else fmt.MISSING
            )
        cores = next(
            (
                t.cores_available
                for p in document.points
                for t in p.tiers
                if t.name == name and t.cores_available
            ),
            None,
        )
        bound = f"{cores / demands[name]:,.0f}" if name in demands and cores else ""
        rows.append([name, role, *cells, bound])
    return rows


def _tier_cell(used: float | None, available: float | None, demand: float | None) -> str:
    parts = []
    if used is not None:
        parts.append(f"{used:.2f} of {available:g} cores" if available else f"{used:.2f} cores")
    if demand is not None:
        parts.append(f"{demand * 1000:.3g} CPU-ms/req")
    return ", ".join(parts) or fmt.MISSING


def connection_rows(document: ScaleoutDocument) -> list[list[str]]:
    """Per database node: Threads_connected at each N, max_connections, and the pool check."""
    nodes: dict[str, int | None] = {}
    for point in document.points:
        for node in point.connections:
            if nodes.get(node.node) is None:
                nodes[node.node] = node.max_connections
    pool = document.settings.pool_size
    rows = []
    for name, maximum in nodes.items():
        cells = []
        for point in document.points:
            found = next((c for c in point.connections if c.node == name), None)
            seen = found.threads_connected if found else None
            cells.append(fmt.count(seen) if seen is not None else fmt.MISSING)
        rows.append(
            [
                name,
                *cells,
                fmt.count(maximum) if maximum is not None else fmt.MISSING,
                _pool_check(maximum, pool),
            ]
        )
    return rows


def _pool_check(maximum: int | None, pool: int | None) -> str:
    """How many instances this node's max_connections admits at `pool` connections each."""
    if not maximum or not pool:
        return ""
    return f"{maximum // pool:,} instances at {pool} connections each"


def connection_header(document: ScaleoutDocument) -> list[str]:
    return ["node", *(f"N = {p.instances}" for p in document.points), "max_connections", "admits"]


def _fit_block(document: ScaleoutDocument) -> tuple[list[list[str]], list[str]]:
    fit = document.fit
    if fit is None:
        return [], [document.fit_message or "no fit"]
    return fit_rows(fit), fit.warnings


def scaleout_html(document: ScaleoutDocument, charts: Sequence[Chart]) -> str:
    seed = document.seed_line.sentence if document.seed_line else ""
    rows, notes = _fit_block(document)
    bottleneck = document.bottleneck
    parts = [
        "<h1>loadcap scale-out</h1>",
        f"<p>{escape(settings_line(document.settings))}</p>",
        f'<p class="note">{escape(seed)}</p>',
        "<h2>USL fit on instance count</h2>",
        _table(["", "value", "interval / basis"], rows, first_text=1) if rows else "",
        *(f'<p class="note">{escape(note)}</p>' for note in notes),
        _charts(charts),
        "<h2>Points</h2>",
        _table(POINT_HEADER, point_rows(document)),
        "<h2>Repeats</h2>",
        _table(REPEAT_HEADER, repeat_rows(document)),
        "<h2>Shared tiers: CPU per request</h2>",
        f'<p class="note">{escape(bottleneck.sentence)}</p>'
        if bottleneck
        else "<p>No shared tier was measured.</p>",
        _table(tier_header(document), tier_rows(document), first_text=2),
        "<h2>Why the curve bends: the instances' work per request</h2>",
        f'<p class="note">{escape(bend_sentence(document))}</p>',
        _table(EVIDENCE_HEADER, evidence_rows(document), first_text=1),
        "<h2>Database connections</h2>",
        _table(connection_header(document), connection_rows(document)),
        *(f'<p class="note">{escape(w)}</p>' for w in document.warnings),
    ]
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>scale-out - loadcap</title><style>{STYLE}</style></head>"
        f"<body>{''.join(parts)}</body></html>\n"
    )


def scaleout_markdown(document: ScaleoutDocument) -> str:
    seed = document.seed_line.sentence if document.seed_line else ""
    rows, notes = _fit_block(document)
    bottleneck = document.bottleneck
    lines = ["# loadcap scale-out", "", settings_line(document.settings), "", f"**{seed}**", ""]
    lines += ["## USL fit on instance count", ""]
    lines += _markdown_table(["", "value", "interval / basis"], rows) if rows else []
    lines += [*(f"- {note}" for note in notes), ""]
    lines += ["## Points", "", *_markdown_table(POINT_HEADER, point_rows(document))]
    lines += ["## Repeats", "", *_markdown_table(REPEAT_HEADER, repeat_rows(document))]
    lines += ["## Shared tiers: CPU per request", ""]
    lines += [bottleneck.sentence if bottleneck else "No shared tier was measured.", ""]
    lines += _markdown_table(tier_header(document), tier_rows(document))
    lines += ["## Why the curve bends: the instances' work per request", ""]
    lines += [
        bend_sentence(document),
        "",
        *_markdown_table(EVIDENCE_HEADER, evidence_rows(document)),
    ]
    lines += ["## Database connections", ""]
    lines += _markdown_table(connection_header(document), connection_rows(document))
    lines += [f"- {warning}" for warning in document.warnings]
    return "\n".join(lines).rstrip() + "\n"
