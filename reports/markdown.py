"""report.md: the report's facts in Markdown, for a CI step summary or a PR comment."""

from __future__ import annotations

from collections.abc import Sequence

from reports import formatting as fmt
from reports.compare import METRICS, EndpointComparison
from rundir.summary_json import Summary


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    def cells(values: Sequence[str]) -> str:
        return "| " + " | ".join(v.replace("|", "\\|") for v in values) + " |"

    return [cells(header), cells(["---"] * len(header)), *(cells(row) for row in rows), ""]


def _totals(summary: Summary) -> list[str]:
    rows = fmt.totals_rows(summary)
    return ["## Totals", "", fmt.slo_verdict(summary), "", *_table(["", "value"], rows)]


def _saturation(summary: Summary) -> list[str]:
    saturation = summary.saturation
    if not saturation:
        return []
    rows = [
        [*row[:-1], "yes" if row[-1] == "yes" else "**no**"] for row in fmt.stage_rows(saturation)
    ]
    return [
        "## Saturation",
        "",
        fmt.capacity_headline(
            saturation, strong=lambda text: f"**{text}**", capacity=summary.capacity
        ),
        "",
        saturation.limit or "",
        "",
        *_table(fmt.STAGE_HEADER, rows),
    ]


def _capacity(summary: Summary) -> list[str]:
    capacity = summary.capacity
    if not capacity:
        return []
    # A step run's sentence already stands under Saturation.
    sentence = [] if summary.saturation else [capacity.sentence or "", ""]
    check = capacity.model_check
    checked = [check.sentence or "", ""] if check is not None else []
    return [
        "## Capacity: what hit its limit first",
        "",
        *sentence,
        *checked,
        *_table(["", "value"], fmt.capacity_rows(capacity)),
        *_table(fmt.use_header(summary), fmt.use_rows(summary)),
        *([note, ""] if (note := fmt.throughput_note(summary)) else []),
    ]


def _open_model(summary: Summary) -> list[str]:
    facts = summary.open_model
    if not facts:
        return []
    return [
        "## Open model",
        "",
        fmt.OPEN_MODEL_NOTE,
        "",
        *_table(["", "value"], fmt.open_model_rows(facts)),
    ]


def _endpoints(summary: Summary) -> list[str]:
    return ["## Endpoints", "", *_table(fmt.ENDPOINT_HEADER, fmt.endpoint_rows(summary))]


def _server(summary: Summary) -> list[str]:
    facts = summary.server
    if not facts:
        return ["## Server", "", "No /metrics snapshots in this run.", ""]
    return ["## Server", "", *_table(["", "value"], fmt.server_rows(facts))]


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
    summary: Summary,
    *,
    title: str,
    failures: Sequence[tuple[str, str, int]] = (),
    comparisons: Sequence[EndpointComparison] = (),
    baseline_name: str = "",
) -> str:
    lines = [f"# loadcap report: {title}", "", fmt.run_line(summary.run), ""]
    lines += _totals(summary) + _open_model(summary) + _saturation(summary) + _capacity(summary)
    lines += _endpoints(summary)
    lines += _server(summary) + _failures(failures)
    if comparisons:
        lines += _comparison(comparisons, baseline_name)
    return "\n".join(lines).rstrip() + "\n"
