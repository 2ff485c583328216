"""`loadcap report`: a run directory becomes summary.json, report.md and report.html.

Data flows one way: load the run (and the baseline), summarise, draw, write. The summary is
written first, so the machine-readable facts exist even if a chart fails to draw.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from reports import figures
from reports.compare import compare_summaries
from reports.html import html_report
from reports.load import RunData, load_run_data
from reports.markdown import markdown_report
from reports.saturation import analyse
from reports.slo import Slo
from reports.summary import dump_summary, summarise

HTML_FILE = "report.html"
MARKDOWN_FILE = "report.md"
TOP_FAILURES = 10


@dataclass(frozen=True)
class ReportFiles:
    summary: Path
    markdown: Path
    html: Path


def top_failures(data: RunData) -> list[tuple[str, str, int]]:
    """(endpoint, error, count), most frequent first."""
    if data.failures.empty:
        return []
    rows = data.failures.sort_values("occurrences", ascending=False).head(TOP_FAILURES)
    method = rows["method"] if "method" in rows.columns else [""] * len(rows)
    return [
        (f"{m} {n}".strip(), str(e), int(c))
        for m, n, e, c in zip(method, rows["name"], rows["error"], rows["occurrences"], strict=True)
    ]


def write_report(
    run_dir: Path, *, baseline_dir: Path | None = None, slo: Slo | None = None
) -> ReportFiles:
    """Write the three outputs into `run_dir`; `ReportInputError` when a run cannot be read."""
    slo = slo or Slo()
    data = load_run_data(run_dir)
    baseline = load_run_data(baseline_dir) if baseline_dir is not None else None
    saturation = analyse(data, slo)
    summary = summarise(data, slo, saturation)
    summary_path = dump_summary(summary, run_dir)

    comparisons, overlays, baseline_name = [], [], ""
    if baseline is not None:
        baseline_summary = summarise(baseline, slo, analyse(baseline, slo))
        comparisons = compare_summaries(summary, baseline_summary)
        overlays = figures.overlay_charts(data, baseline)
        baseline_name = baseline.run_dir.resolve().name

    title = run_dir.resolve().name
    failures = top_failures(data)
    markdown = markdown_report(
        summary,
        title=title,
        failures=failures,
        comparisons=comparisons,
        baseline_name=baseline_name,
    )
    page = html_report(
        summary,
        title=title,
        client=figures.client_charts(data, slo),
        saturation=figures.saturation_charts(saturation, slo),
        server=[*figures.cpu_charts(data), *figures.server_charts(data.snapshots)],
        failures=failures,
        comparisons=comparisons,
        baseline_name=baseline_name,
        comparison_charts=overlays,
    )
    markdown_path, html_path = run_dir / MARKDOWN_FILE, run_dir / HTML_FILE
    markdown_path.write_text(markdown, encoding="utf-8")
    html_path.write_text(page, encoding="utf-8")
    return ReportFiles(summary=summary_path, markdown=markdown_path, html=html_path)
