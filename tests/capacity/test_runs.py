"""What `plan --from RUN_DIR` takes from summary.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from capacity.errors import CapacityInputError
from capacity.runs import read_measured_run


def write_summary(run_dir: Path, summary: dict[str, Any]) -> Path:
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    return run_dir


def summary(**extra: Any) -> dict[str, Any]:
    endpoints = [
        {"name": "GET /api/profiles", "share": 0.70},
        {"name": "GET /api/profile/{id}", "share": 0.20},
        {"name": "POST /api/profiles", "share": 0.05},
        {"name": "PATCH /api/profile/{id}", "share": 0.05},
    ]
    base: dict[str, Any] = {
        "totals": {"rps": 180.0, "p95_ms": 40.0, "hdr": {"p95_ms": 38.5}},
        "endpoints": endpoints,
        "server": {"cache_hit_ratio": 0.82},
    }
    base.update(extra)
    return base


def test_capacity_rps_is_preferred_with_hdr_p95_mix_and_hit_ratio(tmp_path: Path) -> None:
    facts = read_measured_run(write_summary(tmp_path / "run", summary(capacity_rps=240.0)))
    assert facts.per_instance_rps.value == 240.0
    assert "met the SLO" in facts.per_instance_rps.source
    assert facts.p95_ms == 38.5
    assert facts.mix is not None and facts.mix.get == pytest.approx(0.20)
    assert facts.cache_hit_ratio == 0.82
    assert facts.notes == []


def test_without_capacity_rps_totals_rps_is_used_with_a_note(tmp_path: Path) -> None:
    facts = read_measured_run(write_summary(tmp_path / "run", summary()))
    assert facts.per_instance_rps.value == 180.0
    assert any("no SLO-meeting capacity" in note for note in facts.notes)


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "no summary.json"), ("{", "unreadable"), ("[]", "expected an object")],
)
def test_bad_run_directories_are_rejected(
    tmp_path: Path, content: str | None, message: str
) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    if content is not None:
        (run_dir / "summary.json").write_text(content, encoding="utf-8")
    with pytest.raises(CapacityInputError, match=message):
        read_measured_run(run_dir)


def test_zero_throughput_run_is_rejected(tmp_path: Path) -> None:
    run_dir = write_summary(tmp_path / "run", {"totals": {"rps": 0}})
    with pytest.raises(CapacityInputError, match=r"positive totals\.rps"):
        read_measured_run(run_dir)


def test_a_run_whose_replicas_served_few_queries_says_so_in_the_notes(tmp_path: Path) -> None:
    server = {
        "cache_hit_ratio": 0.66,
        "queries": {"master": 33303, "replica0": 105},
        "replica_fallbacks": {"down": 0, "lag": 0, "read_your_writes": 24834},
    }
    facts = read_measured_run(write_summary(tmp_path / "run", summary(server=server)))
    [note] = [n for n in facts.notes if "replicas served" in n]
    assert "only 0%" in note and "24,834 reads were pinned" in note


def test_a_run_with_busy_replicas_or_without_replicas_states_no_warning(tmp_path: Path) -> None:
    busy = {"queries": {"master": 100, "replica0": 400, "replica1": 500}}
    facts = read_measured_run(
        write_summary(tmp_path / "busy", summary(capacity_rps=240.0, server=busy))
    )
    assert facts.notes == ["replicas served 90% of the run's database queries"]
    alone = {"queries": {"master": 1000}}
    run = write_summary(tmp_path / "alone", summary(capacity_rps=240.0, server=alone))
    assert read_measured_run(run).notes == []


def test_the_plan_sizes_replicas_from_the_measured_read_share_and_query_time(
    tmp_path: Path,
) -> None:
    from capacity.planner import PlanOptions, make_plan_request
    from capacity.pricing import load_price_book

    server = {
        "cache_hit_ratio": 0.5,
        "queries": {"master": 200, "replica0": 700, "replica1": 700, "replica2": 700},
        "replica_read_share": 0.95,
        "replica_query_ms": 4.0,
    }
    run = write_summary(tmp_path / "run", summary(capacity_rps=240.0, server=server))
    facts = read_measured_run(run)
    assert (facts.replica_read_share, facts.replica_query_ms) == (0.95, 4.0)
    assert any("95% of the run's database reads" in note for note in facts.notes)

    request, notes = make_plan_request(PlanOptions(run_dir=run), load_price_book())
    assert request.database.replica_read_share == 0.95
    assert any("Little's law: 2 vCPUs / 4 ms" in note for note in notes)
