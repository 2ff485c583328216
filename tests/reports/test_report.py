"""`write_report` turns a run directory into summary.json, report.md and report.html."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from reports.report import write_report
from tests.reports.recorded import CONSTANT, PLAIN, STEP, copy_run

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)


@pytest.fixture
def plain_run(tmp_path: Path) -> Path:
    return copy_run(PLAIN, tmp_path)


def test_writes_the_three_files_into_the_run_directory(plain_run: Path) -> None:
    files = write_report(plain_run)

    assert (files.summary, files.markdown, files.html) == (
        plain_run / "summary.json",
        plain_run / "report.md",
        plain_run / "report.html",
    )
    assert json.loads(files.summary.read_text())["totals"]["requests"] > 0


def test_html_is_self_contained(plain_run: Path) -> None:
    page = write_report(plain_run).html.read_text()

    assert not EXTERNAL.search(page)
    assert "<script" not in page.lower()
    assert page.count('src="data:image/png;base64,') >= 6  # the client-side charts


def test_text_from_the_run_is_escaped(plain_run: Path) -> None:
    stats = plain_run / "locust_stats.csv"
    stats.write_text(stats.read_text().replace("/api/profile/{id}", "/x<script>alert(1)</script>"))
    history = plain_run / "locust_stats_history.csv"
    history.write_text(history.read_text().replace("/api/profile/{id}", "/x<script>"))

    page = write_report(plain_run).html.read_text()

    assert "<script>" not in page
    assert "/x&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_markdown_states_the_same_totals_as_the_summary(plain_run: Path) -> None:
    files = write_report(plain_run)
    totals = json.loads(files.summary.read_text())["totals"]
    markdown = files.markdown.read_text()

    assert f"| requests | {totals['requests']:,} |" in markdown
    assert f"| throughput | {totals['rps']:.1f} req/s |" in markdown
    assert "## Endpoints" in markdown and "GET /api/profiles" in markdown


def test_a_baseline_adds_deltas_and_overlaid_charts(plain_run: Path, tmp_path: Path) -> None:
    baseline = copy_run(PLAIN, tmp_path / "baseline")

    files = write_report(plain_run, baseline_dir=baseline)

    markdown, page = files.markdown.read_text(), files.html.read_text()
    assert "## Compared with baseline `plain_locust`" in markdown
    assert "No regression beyond tolerance." in markdown
    assert 'alt="Throughput vs baseline"' in page and 'alt="p95 vs baseline"' in page


def test_a_step_run_report_states_capacity_and_what_hit_its_limit(tmp_path: Path) -> None:
    run_dir = copy_run(STEP, tmp_path)

    files = write_report(run_dir)

    saturation = json.loads(files.summary.read_text())["saturation"]
    markdown, page = files.markdown.read_text(), files.html.read_text()
    assert f"**Capacity: {saturation['capacity_rps']:.1f} req/s**" in markdown
    assert saturation["limit"] in markdown
    assert 'alt="Stages"' in page and 'alt="Pool"' in page and 'alt="Cache"' in page


def test_regressions_against_a_baseline_are_highlighted(tmp_path: Path) -> None:
    # The step run, pushed past saturation, is far slower than the light constant run.
    current, baseline = copy_run(STEP, tmp_path), copy_run(CONSTANT, tmp_path)

    files = write_report(current, baseline_dir=baseline)

    markdown, page = files.markdown.read_text(), files.html.read_text()
    assert "Regressions in: All endpoints" in markdown
    assert re.search(r"\*\*[\d.]+ → [\d.]+ \(\+\d+%\) regression\*\*", markdown)
    assert '<td class="n bad">' in page
