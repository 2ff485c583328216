"""report.html: one self-contained page (inline CSS, charts as data: URIs, no scripts).

Every piece of text from the run (endpoint names, error messages, hosts) is escaped: a run
directory is input, and an endpoint called `<script>` must stay text.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from html import escape

from reports import formatting as fmt
from reports.compare import METRICS, EndpointComparison
from reports.figures import Chart
from rundir.summary_json import Summary

STYLE = """
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:70rem;padding:0 1rem;color:#222}
h1{font-size:1.6rem}h2{margin-top:2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
table{border-collapse:collapse;margin:.6rem 0}td,th{padding:.25rem .6rem;border:1px solid #ddd}
th{background:#f4f4f4;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}
.charts{display:flex;flex-wrap:wrap;gap:.5rem}.charts img{max-width:100%;width:38rem}
.bad{background:#fde2e1;font-weight:600}.ok{color:#2d7a3a}.no{color:#b3261e;font-weight:600}
.note{background:#f6f8fa;border-left:4px solid #4c72b0;padding:.5rem .8rem}
"""


def _cell(value: str, *, numeric: bool = False, css: str = "") -> str:
    classes = " ".join(c for c in ("n" if numeric else "", css) if c)
    attribute = f' class="{classes}"' if classes else ""
    return f"<td{attribute}>{escape(value)}</td>"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], *, first_text: int = 1) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(_cell(v, numeric=i >= first_text) for i, v in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _charts(charts: Sequence[Chart]) -> str:
    images = "".join(
        f'<img alt="{escape(c.title)}" src="data:image/png;base64,'
        f'{base64.b64encode(c.png).decode("ascii")}">'
        for c in charts
    )
    return f'<div class="charts">{images}</div>'


def _totals(summary: Summary) -> str:
    verdict = f'<p class="note">{escape(fmt.slo_verdict(summary))}</p>'
    return verdict + _table(["", "value"], fmt.totals_rows(summary))


def _open_model(summary: Summary) -> str:
    facts = summary.open_model
    if not facts:
        return ""
    return f'<h2>Open model</h2><p class="note">{escape(fmt.OPEN_MODEL_NOTE)}</p>' + _table(
        ["", "value"], fmt.open_model_rows(facts)
    )


def _saturation(summary: Summary, charts: Sequence[Chart]) -> str:
    saturation = summary.saturation
    if not saturation:
        return ""
    rows = "".join(
        "<tr>"
        + "".join(_cell(value, numeric=True) for value in row[:-1])
        + (_cell("yes", css="ok") if row[-1] == "yes" else _cell("no", css="no"))
        + "</tr>"
        for row in fmt.stage_rows(saturation)
    )
    header = "".join(f"<th>{h}</th>" for h in fmt.STAGE_HEADER)
    headline = fmt.capacity_headline(saturation, strong=_strong, capacity=summary.capacity)
    return (
        f"<h2>Saturation</h2><p>{headline}</p>"
        f'<p class="note">{escape(saturation.limit or "")}</p>'
        f"<table><tr>{header}</tr>{rows}</table>{_charts(charts)}"
    )


def _capacity(summary: Summary) -> str:
    capacity = summary.capacity
    if not capacity:
        return ""
    # A step run's sentence already stands under Saturation.
    sentence = (
        "" if summary.saturation else f'<p class="note">{escape(capacity.sentence or "")}</p>'
    )
    check = capacity.model_check
    checked = f'<p class="note">{escape(check.sentence or "")}</p>' if check is not None else ""
    return (
        "<h2>Capacity: what hit its limit first</h2>"
        + sentence
        + checked
        + _table(["", "value"], fmt.capacity_rows(capacity), first_text=2)
        + "<p>Per stage (utilization, saturation, errors of each resource):</p>"
        + _table(fmt.use_header(summary), fmt.use_rows(summary))
        + (f'<p class="note">{escape(note)}</p>' if (note := fmt.throughput_note(summary)) else "")
    )


def _strong(text: str) -> str:
    return f"<strong>{escape(text)}</strong>"


def _endpoints(summary: Summary) -> str:
    return "<h2>Endpoints</h2>" + _table(fmt.ENDPOINT_HEADER, fmt.endpoint_rows(summary))


def _server(summary: Summary, charts: Sequence[Chart]) -> str:
    facts = summary.server
    if not facts:
        return "<h2>Server</h2><p>No /metrics snapshots in this run.</p>"
    table = _table(["", "value"], fmt.server_rows(facts), first_text=2)
    return "<h2>Server</h2>" + table + _charts(charts)


def _comparison(
    comparisons: Sequence[EndpointComparison], baseline: str, charts: Sequence[Chart]
) -> str:
    rows = ""
    for item in comparisons:
        cells = _cell(item.endpoint)
        for metric in METRICS:
            d = item.deltas[metric]
            text = fmt.change_cell(d) + (" regression" if d.regression else "")
            cells += _cell(text, numeric=True, css="bad" if d.regression else "")
        rows += f"<tr>{cells}</tr>"
    header = "".join(
        f"<th>{escape(h)}</th>" for h in ("scope", *(fmt.COMPARISON_HEADERS[m] for m in METRICS))
    )
    regressed = [c.endpoint for c in comparisons if c.regressed]
    head = (
        f"Regressions in: {', '.join(regressed)}."
        if regressed
        else "No regression beyond tolerance."
    )
    return (
        f"<h2>Compared with baseline {escape(baseline)}</h2><p>{escape(head)} "
        "Each cell: baseline → current (change).</p>"
        f"<table><tr>{header}</tr>{rows}</table>{_charts(charts)}"
    )


def html_report(
    summary: Summary,
    *,
    title: str,
    client: Sequence[Chart],
    saturation: Sequence[Chart] = (),
    server: Sequence[Chart] = (),
    failures: Sequence[tuple[str, str, int]] = (),
    comparisons: Sequence[EndpointComparison] = (),
    baseline_name: str = "",
    comparison_charts: Sequence[Chart] = (),
) -> str:
    parts = [
        f"<h1>loadcap report: {escape(title)}</h1>",
        f"<p>{escape(fmt.run_line(summary.run))}</p>",
        "<h2>Totals</h2>",
        _totals(summary),
        _open_model(summary),
        _saturation(summary, saturation),
        _capacity(summary),
        "<h2>Client side</h2>",
        _charts(client),
        _endpoints(summary),
        _server(summary, server),
    ]
    if failures:
        rows = [[name, error, fmt.count(n)] for name, error, n in failures]
        parts.append(
            "<h2>Failures</h2>" + _table(["endpoint", "error", "count"], rows, first_text=2)
        )
    if comparisons:
        parts.append(_comparison(comparisons, baseline_name, comparison_charts))
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)} - loadcap</title><style>{STYLE}</style></head>"
        f"<body>{''.join(parts)}</body></html>\n"
    )
