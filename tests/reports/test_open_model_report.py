"""An open-model run (`loadcap run --rps`): the arrival-rate tally and the latency measured
from the intended send time reach summary.json, both reports and the gate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reports.gate import GateOptions, evaluate
from reports.gate_facts import load_gate_run
from reports.report import write_report
from reports.summary import build_summary, write_summary
from reports.thresholds import parse_threshold
from tests.reports.recorded import CONSTANT, OPEN, RUNS, copy_run


def test_summary_carries_the_open_model_tally_and_intended_latency() -> None:
    run = json.loads((RUNS / OPEN / "run.json").read_text())["open_model"]
    hdr = json.loads((RUNS / OPEN / "hdr.json").read_text())["intended"]

    facts = build_summary(RUNS / OPEN)["open_model"]

    for key in ("target_rps", "achieved_rps", "scheduled", "sent", "late_sends", "dropped"):
        assert facts[key] == run[key], key
    assert set(facts["intended"]) == set(hdr)
    aggregated = facts["intended"]["Aggregated"]
    assert aggregated["p95_ms"] == hdr["Aggregated"]["p95_ms"]
    assert aggregated["count"] == hdr["Aggregated"]["count"]
    assert "histogram" not in aggregated


def test_a_closed_model_run_has_no_open_model_facts() -> None:
    assert build_summary(RUNS / CONSTANT)["open_model"] is None


def test_reports_show_rates_late_sends_and_intended_latency(tmp_path: Path) -> None:
    run_dir = copy_run(OPEN, tmp_path)
    late = json.loads((run_dir / "run.json").read_text())["open_model"]["late_sends"]

    files = write_report(run_dir)

    markdown = files.markdown.read_text()
    assert "## Open model" in markdown
    assert "open model at 150.0 req/s" in markdown
    assert f"| late sends (started behind schedule) | {late} (" in markdown
    assert "from intended send time" in markdown
    html = files.html.read_text()
    assert "<h2>Open model</h2>" in html and "late sends" in html


def test_the_gate_judges_an_open_model_run_on_latency_from_intended_send_time(
    tmp_path: Path,
) -> None:
    run_dir = copy_run(OPEN, tmp_path)
    write_summary(run_dir)
    hdr = json.loads((run_dir / "hdr.json").read_text())
    service_p95 = hdr["endpoints"]["Aggregated"]["p95_ms"]
    intended_p95 = hdr["intended"]["Aggregated"]["p95_ms"]
    assert intended_p95 > service_p95  # queueing before the send is part of the wait
    between = (service_p95 + intended_p95) / 2

    result = evaluate(
        load_gate_run(run_dir), GateOptions(thresholds=(parse_threshold(f"p95<{between}"),))
    )

    check = result.checks[-1]
    assert check.status == "fail", check
    assert check.measured == f"{intended_p95:.4g} ms"
    assert "intended send time" in check.note


@pytest.mark.parametrize("clock", ["service", "intended"])
def test_baseline_compares_like_with_like_clocks(tmp_path: Path, clock: str) -> None:
    current = copy_run(OPEN, tmp_path / "current")
    baseline = copy_run(OPEN if clock == "intended" else CONSTANT, tmp_path / "baseline")
    for run_dir in (current, baseline):
        write_summary(run_dir)

    result = evaluate(
        load_gate_run(current), GateOptions(baseline=load_gate_run(baseline), min_requests=1)
    )

    p95 = next(c for c in result.checks if c.name == "Total: p95 vs baseline")
    expected = "HDR (exact, from intended send time)" if clock == "intended" else "Locust"
    assert p95.note.startswith(expected), p95
