"""The scale-out report: what each page must say, from a document the analysis produced."""

from __future__ import annotations

from pathlib import Path

import pytest

from capacity.scaleout import analyse_scaleout
from capacity.scaleout_evidence import window_evidence
from reports.scaleout_charts import scaleout_charts
from reports.scaleout_report import scaleout_html, write_scaleout_report
from rundir.scaleout_json import (
    NodeConnections,
    ScaleoutDocument,
    ScaleoutRepeat,
    ScaleoutSettings,
    ScaleoutTier,
)

SETTINGS = ScaleoutSettings(instances=[1, 2, 3, 4, 5], cpu_per_instance=0.15, repeat=2, pool_size=5)
MEASURED = {1: (480.0, 500.0), 2: (930.0, 950.0), 3: (1340.0, 1370.0), 4: (1700.0, 1730.0)}


def tiers(x: float) -> list[ScaleoutTier]:
    requests = x * 10.0
    return [
        ScaleoutTier(name="master", role="shared", cpu_s=requests * 0.0004, requests=requests,
                     cores_available=1.0, cores_used=x * 0.0004),
        ScaleoutTier(name="nginx", role="shared", cpu_s=requests * 0.0001, requests=requests,
                     cores_available=1.0, cores_used=x * 0.0001),
    ]  # fmt: skip


@pytest.fixture(name="document")
def fixture_document() -> ScaleoutDocument:
    repeats = [
        ScaleoutRepeat(
            instances=n,
            throughput_rps=x,
            first_limit="instances",
            tiers=tiers(x),
            connections=[
                NodeConnections(node="master", threads_connected=5 * n, max_connections=151)
            ],
        )
        for n, pair in MEASURED.items()
        for x in pair
    ]
    repeats.append(
        ScaleoutRepeat(
            instances=5,
            throughput_rps=1800.0,
            first_limit="<nginx>",
            limit_reason="nginx used 0.97 of its core",
        )
    )
    return analyse_scaleout(repeats, SETTINGS)


def test_the_pages_carry_the_seed_line_the_fit_the_points_and_the_bottleneck(
    document: ScaleoutDocument, tmp_path: Path
) -> None:
    html_path, markdown_path = write_scaleout_report(tmp_path, document)
    markdown = markdown_path.read_text(encoding="utf-8")
    html = html_path.read_text(encoding="utf-8")
    for page in (markdown, html):
        assert "at N = 100 the fit predicts" in page
        assert "the seed assumes 1,000" in page
        assert "sigma (contention)" in page and "95% interval" in page
        assert "master limits the fleet first" in page
        assert "nginx used 0.97 of its core" in page  # the unfitted point's reason
        assert "30 instances at 5 connections each" in page  # 151 // 5
    assert "| 5 | 1,800.0 |" in markdown and "| no |" in markdown
    assert markdown.count("| instances |") >= 8  # every repeat with its own verdict
    assert html.count("data:image/png;base64,") == 2


def test_text_from_the_measurements_is_escaped(document: ScaleoutDocument) -> None:
    html = scaleout_html(document, [])
    assert "<nginx>" not in html
    assert "&lt;nginx&gt;" in html


def test_charts_are_drawn_without_a_fit_or_a_single_instance() -> None:
    document = analyse_scaleout(
        [ScaleoutRepeat(instances=2, throughput_rps=900.0, first_limit="none")], SETTINGS
    )
    assert document.fit is None and document.seed_line is not None
    charts = scaleout_charts(document)
    assert [len(c.png) > 1000 for c in charts] == [True, True]
    assert "no USL fit" in scaleout_html(document, charts)


def test_the_pages_say_why_the_curve_bends_with_the_evidence(tmp_path: Path) -> None:
    def measured(n: int, demand_ms: float, l1_share: float) -> ScaleoutRepeat:
        requests = 5000.0 * n
        lookups = 0.85 * requests
        return ScaleoutRepeat(
            instances=n,
            throughput_rps=250.0 * n,
            first_limit="instances",
            tiers=[
                ScaleoutTier(
                    name="instances",
                    role="instances",
                    cpu_s=requests * demand_ms / 1000,
                    requests=requests,
                    cores_used=0.15 * n,
                    cores_available=0.15 * n,
                ),
            ],
            evidence=window_evidence(
                seconds=20.0,
                requests=requests,
                cache_hits=0.9 * lookups,
                cache_misses=0.1 * lookups,
                local_hits=l1_share * lookups,
                db_queries={"replica0": 0.1 * requests},
            ),
        )

    document = analyse_scaleout(
        [measured(1, 0.56, 0.8), measured(2, 0.62, 0.6), measured(4, 0.74, 0.45)], SETTINGS
    )
    html_path, markdown_path = write_scaleout_report(tmp_path, document)
    for page in (markdown_path.read_text("utf-8"), html_path.read_text("utf-8")):
        assert "Why the curve bends" in page
        assert "the L1 served 80% of cache lookups, then 45%" in page
        assert "replica0 0.10" in page and "45.0%" in page
