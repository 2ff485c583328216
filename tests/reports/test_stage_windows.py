"""A stage's throughput is the requests its one-second windows counted, not the master's
history, whose worker counts arrive in batches (issue 18, item 6)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from reports.load import RunData, load_run_data
from reports.saturation import measure_stage
from reports.service_capacity import analyse_capacity
from reports.slo import Slo
from reports.summary import build_summary
from reports.windows import (
    HISTORY,
    WINDOWS,
    completed_between,
    per_second,
    throughput,
    whole_windows,
)
from rundir.run_json import PlannedStage, RunRecord
from rundir.windows_json import Window, WindowFacts, WindowsDocument
from tests.reports.recorded import CONSTANT, copy_run

RUN_S = 20
RPS = 500  # two processes of 250 req/s each, every second
BATCH_S = 3  # a worker reports to the master every 3 s


def _windows(rps: list[int], *, started_at: float | None = None) -> WindowsDocument:
    return WindowsDocument(
        window_s=1.0,
        started_at=started_at,
        windows=[
            Window(start_s=float(second), scopes={"Aggregated": WindowFacts(requests=count)})
            for second, count in enumerate(rps)
        ],
    )


def _batched_history(rps: int, seconds: int) -> pd.DataFrame:
    """The master's history: a row a second, but counts move only when a batch arrives."""
    rows = []
    for second in range(1, seconds + 1):
        arrived = (second // BATCH_S) * BATCH_S * rps
        rows.append(
            {
                "elapsed_s": float(second),
                "timestamp": 1000.0 + second,
                "users": 20,
                "endpoint": "Aggregated",
                "requests": float(arrived),
                "failures": 0.0,
                "p95_ms": 30.0,
                "avg_ms": 10.0,
            }
        )
    return pd.DataFrame(rows)


def _run(windows: WindowsDocument | None, *, snapshots: pd.DataFrame | None = None) -> RunData:
    return RunData(
        run_dir=Path("."),
        stats=pd.DataFrame(),
        history=_batched_history(RPS, RUN_S + 1),
        failures=pd.DataFrame(columns=["name", "error", "occurrences"]),
        exceptions=pd.DataFrame(),
        hdr=None,
        run=RunRecord(
            host="http://127.0.0.1:1",
            processes=2,
            stages=[PlannedStage(users=20, start_s=0.0, end_s=float(RUN_S))],
        ),
        snapshots=snapshots,
        windows=per_second(windows, 1000.0) if windows is not None else None,
    )


def test_batched_history_misstates_a_stage_its_windows_count_exactly() -> None:
    windows = per_second(_windows([RPS] * RUN_S + [37]), None)
    history = _batched_history(RPS, RUN_S + 1)

    from_history = measure_stage(history, 20, 0.0, float(RUN_S), Slo())
    from_windows = measure_stage(history, 20, 0.0, float(RUN_S), Slo(), windows=windows)

    assert from_history is not None and from_windows is not None
    assert from_history.rps != pytest.approx(RPS, rel=0.05)  # the bug the windows fix
    assert from_history.rps_from == HISTORY
    assert from_windows.rps == pytest.approx(RPS)
    assert from_windows.rps_from == WINDOWS
    assert from_windows.p95_ms == 30.0  # the percentile still comes from the history


def test_the_verdict_quotes_the_windows_throughput_and_no_batching_caveat() -> None:
    found, facts = analyse_capacity(_run(_windows([RPS] * RUN_S + [37])), Slo(), None)

    assert [row.rps for row in found.rows] == [pytest.approx(RPS)]
    assert f"({RPS:,.1f} req/s)" in facts.sentence
    assert "batches" not in facts.sentence


def test_without_windows_the_history_is_used_and_the_sentence_says_so() -> None:
    found, facts = analyse_capacity(_run(None), Slo(), None)

    assert found.rows[0].rps_from == HISTORY
    assert "batches every 3 s" in facts.sentence


def test_a_foreign_services_demand_divides_by_the_requests_the_windows_counted() -> None:
    # No loadcap_http_requests_total: the requests come from the client side, and over the
    # same snapshots as the CPU (0.5 s of CPU a second at 500 req/s: D = 1 ms).
    cpu = "process_cpu_seconds_total"
    snapshots = pd.DataFrame(
        [
            {"timestamp": 1000.0 + t, "elapsed_s": float(t), "sample": cpu, "value": 0.5 * t}
            for t in range(0, RUN_S + 1, 2)
        ]
    ).assign(phase="during", route=None)
    found, _ = analyse_capacity(
        _run(_windows([RPS] * RUN_S + [37]), snapshots=snapshots), Slo(), None
    )

    assert found.rows[0].service_cpu_s_per_request == pytest.approx(0.001)


def test_windows_are_put_on_the_runs_clock_and_gaps_count_as_idle_seconds() -> None:
    document = _windows([100, 0, 100, 100, 9], started_at=1000.25)
    document = WindowsDocument(
        window_s=1.0,
        started_at=1000.25,
        windows=[w for w in document.windows if w.start_s != 1.0],  # no request in second 1
    )

    frame = per_second(document, run_start=1000.0)

    assert frame["start_s"].tolist() == [0.25, 1.25, 2.25, 3.25, 4.25]
    assert frame["requests"].tolist() == [100, 0, 100, 100, 9]
    assert frame["complete"].tolist() == [True, True, True, True, False]
    counted = whole_windows(frame, 0.2, 4.3)
    assert counted is not None and (counted.requests, counted.seconds) == (300, 4.0)
    assert completed_between(frame, 2.75, 3.75) == pytest.approx(100.0)


def test_a_recorded_run_with_windows_reports_their_stage_throughput(tmp_path: Path) -> None:
    run_dir = copy_run(CONSTANT, tmp_path)
    data = load_run_data(run_dir)
    assert data.run is not None and data.run.started_at is not None
    per_window = 123
    seconds = int(data.run.duration_s or 8)
    (run_dir / "windows.json").write_text(
        json.dumps(
            {
                "window_s": 1.0,
                "windows": [
                    {"start_s": float(s), "scopes": {"Aggregated": {"requests": per_window}}}
                    for s in range(seconds + 1)
                ],
            }
        )
    )

    summary = build_summary(run_dir)

    assert [row["rps"] for row in summary["use"]] == [pytest.approx(per_window)]
    assert [row["rps_from"] for row in summary["use"]] == ["windows"]


def test_the_throughput_chart_reads_each_endpoints_requests_from_the_windows() -> None:
    def window(second: int, get: int, post: int) -> Window:
        scopes = {
            "Aggregated": WindowFacts(requests=get + post),
            "GET /a": WindowFacts(requests=get),
            "POST /b": WindowFacts(requests=post),
        }
        return Window(start_s=float(second), scopes=scopes)

    seconds = [window(s, 90, 10) for s in range(6)] + [window(6, 3, 0)]  # the last: cut short
    frame = per_second(WindowsDocument(window_s=1.0, windows=seconds), None)

    every = throughput(frame)
    assert list(every.index) == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    assert every.loc[3.0].to_dict() == {"Aggregated": 100.0, "GET /a": 90.0, "POST /b": 10.0}
    thinned = throughput(frame, max_points=2)  # groups of 3 windows, counts still exact
    assert list(thinned.index) == [3.0, 6.0]
    assert thinned["Aggregated"].tolist() == [100.0, 100.0]
