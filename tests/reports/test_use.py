"""The USE table and the verdict: who hit the limit first, and what the capacity is *of*."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from reports.load import RunData
from reports.saturation import MeasuredStage
from reports.service_capacity import analyse_capacity, capacity_facts
from reports.slo import Slo
from reports.use import stage_limit, use_row, verdict
from rundir.run_json import Machine, RunRecord

STAGE_S = 10


def _history(stages: list[tuple[int, float]]) -> pd.DataFrame:
    """Aggregated rows, one a second: per stage (users, req/s), mean response 10 ms."""
    rows, sent, clock = [], 0.0, 0
    for users, rps in stages:
        for _ in range(STAGE_S):
            clock += 1
            sent += rps
            rows.append(
                {
                    "elapsed_s": float(clock),
                    "timestamp": 1000.0 + clock,
                    "users": users,
                    "endpoint": "Aggregated",
                    "requests": sent,
                    "failures": 0.0,
                    "p95_ms": 20.0,
                    "avg_ms": 10.0,
                }
            )
    return pd.DataFrame(rows)


def _snapshots(
    stages: list[tuple[float, float]], *, cores: float = 1.0, pool: tuple[int, int] | None = None
) -> pd.DataFrame:
    """A snapshot every second: per stage (service req/s, service CPU cores used)."""
    rows: list[dict[str, object]] = []
    requests = cpu = 0.0
    clock = 0

    def snapshot(at: float) -> None:
        when = {"timestamp": 1000.0 + at, "elapsed_s": at, "phase": "during"}
        rows.append({**when, "sample": "process_cpu_seconds_total", "value": cpu})
        rows.append(
            {**when, "sample": "loadcap_http_requests_total", "value": requests, "route": "/x"}
        )
        rows.append({**when, "sample": "loadcap_cpu_cores_available", "value": cores})
        if pool is not None:
            rows.append({**when, "sample": "loadcap_db_pool_in_use", "value": pool[0], "pool": "m"})
            rows.append({**when, "sample": "loadcap_db_pool_size", "value": pool[1], "pool": "m"})

    snapshot(0.0)
    for rps, used in stages:
        for _ in range(STAGE_S):
            clock += 1
            requests += rps
            cpu += used
            snapshot(float(clock))
    return pd.DataFrame(rows)


def _generator(shares: list[float]) -> pd.DataFrame:
    rows, cpu = [{"timestamp": 1000.0, "elapsed_s": 0.0, "process": "local", "cpu_s": 0.0}], 0.0
    for index, share in enumerate(shares):
        for second in range(STAGE_S):
            cpu += share
            at = float(index * STAGE_S + second + 1)
            rows.append(
                {"timestamp": 1000.0 + at, "elapsed_s": at, "process": "local", "cpu_s": cpu}
            )
    return pd.DataFrame(rows)


def _run(
    users_rps: list[tuple[int, float]],
    service: list[tuple[float, float]],
    generator: list[float] | None,
    *,
    log: list[str] | None = None,
    pool: tuple[int, int] | None = None,
) -> tuple[RunData, list[MeasuredStage]]:
    data = RunData(
        run_dir=Path("."),
        stats=pd.DataFrame(),
        history=_history(users_rps),
        failures=pd.DataFrame(columns=["name", "error", "occurrences"]),
        exceptions=pd.DataFrame(),
        hdr=None,
        run=RunRecord(host="http://127.0.0.1:1", machine=Machine(cpu_model="Test CPU")),
        snapshots=_snapshots(service, pool=pool),
        log_lines=log or [],
        generator=_generator(generator) if generator is not None else None,
    )
    stages = [
        MeasuredStage(
            users=users,
            start_s=float(i * STAGE_S),
            end_s=float((i + 1) * STAGE_S),
            rps=rps,
            p95_ms=20.0,
            error_rate=0.0,
            met_slo=True,
        )
        for i, (users, rps) in enumerate(users_rps)
    ]
    return data, stages


def test_service_demand_is_cpu_seconds_per_request_and_capacity_per_core_its_inverse() -> None:
    # 1,000 req/s using 0.5 cores: D = 0.5 ms, 2,000 req/s per core.
    data, stages = _run([(10, 1000.0)], [(1000.0, 0.5)], [0.4])

    row = use_row(data, stages[0], Slo())

    assert row.service_cpu_s_per_request == pytest.approx(0.0005)
    assert row.service_cores_used == pytest.approx(0.5)
    assert row.generator_cpu == pytest.approx(0.4)
    assert row.in_flight == pytest.approx(10.0)  # Little: 1,000 req/s x 10 ms


def test_a_stage_shorter_than_two_scrapes_is_measured_between_the_scrapes_around_it() -> None:
    # Scrapes every 2 s (at 0, 2, 4, ...); a 1.4 s stage from 4.3 s holds none of them.
    data, _ = _run([(10, 1000.0)], [(1000.0, 0.5)], [0.4])
    assert data.snapshots is not None
    data = RunData(
        **{**data.__dict__, "snapshots": data.snapshots[data.snapshots["elapsed_s"] % 2 == 0]}
    )
    short = MeasuredStage(users=10, start_s=4.3, end_s=5.7, rps=1000.0, p95_ms=20.0, error_rate=0.0,
                  met_slo=True)  # fmt: skip

    row = use_row(data, short, Slo())

    assert row.service_cpu_s_per_request == pytest.approx(0.0005)  # from the scrapes at 4 and 6
    assert row.service_cores_used == pytest.approx(0.5)


def test_a_saturated_generator_is_the_first_limit_and_never_the_service_capacity() -> None:
    data, stages = _run(
        [(10, 1000.0), (20, 1500.0), (30, 1500.0)],
        [(1000.0, 0.3), (1500.0, 0.45), (1500.0, 0.45)],
        [0.6, 0.95, 0.97],
    )

    found = verdict(data, stages, Slo())
    facts = capacity_facts(found, cpu_model="Test CPU")

    assert found.first_limit == "load_generator" and found.limit_index == 1
    assert facts.generator_saturated
    assert facts.basis == "utilization_law"
    assert facts.per_core_rps == pytest.approx(1 / 0.0003, rel=1e-3)
    assert facts.observed_rps == 1500.0
    assert "load generator hit its limit first" in facts.sentence
    assert "not the service" in facts.sentence


def test_a_saturated_service_cpu_makes_the_observed_figure_the_capacity() -> None:
    data, stages = _run([(10, 1000.0), (20, 1800.0)], [(1000.0, 0.5), (1800.0, 0.9)], [0.3, 0.5])

    facts = capacity_facts(verdict(data, stages, Slo()))

    assert facts.first_limit == "service_cpu" and not facts.generator_saturated
    assert facts.basis == "observed" and facts.service_capacity_rps == 1800.0
    assert "service's CPU hit its limit first" in facts.sentence


def test_locust_cpu_warning_in_the_log_marks_the_stage_it_came_in() -> None:
    # The recorded run has no generator.csv; Locust logged its warning during the 2nd stage.
    stamp = pd.Timestamp.fromtimestamp(1015).strftime("%Y-%m-%d %H:%M:%S")  # local time
    log = [f"[{stamp},123] host/WARNING/root: CPU usage above 90%! This may constrain"]
    data, stages = _run([(10, 1000.0), (20, 1500.0)], [(1000.0, 0.3), (1500.0, 0.4)], None, log=log)

    found = verdict(data, stages, Slo())

    assert [r.limit for r in found.rows] == ["none", "load_generator"]
    assert "load generator hit its limit first" in capacity_facts(found).sentence


def test_a_pool_full_at_most_snapshots_is_the_limit() -> None:
    data, stages = _run([(10, 1000.0)], [(1000.0, 0.3)], [0.3], pool=(10, 10))

    assert verdict(data, stages, Slo()).first_limit == "db_pool"


def test_nothing_saturated_gives_the_utilization_law_estimate_and_says_so() -> None:
    data, _ = _run([(10, 1000.0)], [(1000.0, 0.25)], [0.3])

    _, facts = analyse_capacity(data, Slo(), None)

    assert facts.first_limit == "none" and facts.basis == "utilization_law"
    assert facts.service_capacity_rps == pytest.approx(4000.0)
    assert facts.cpu_model == "Test CPU"
    assert "lies above the load tested" in facts.sentence


def test_without_process_metrics_the_observed_figure_is_a_lower_bound() -> None:
    data, stages = _run([(10, 1000.0)], [(1000.0, 0.25)], [0.95])
    snapshots = data.snapshots
    assert snapshots is not None
    cpu_free = snapshots[snapshots["sample"] != "process_cpu_seconds_total"]
    data = RunData(**{**data.__dict__, "snapshots": cpu_free})

    facts = capacity_facts(verdict(data, stages, Slo()))

    assert facts.first_limit == "load_generator"
    assert facts.basis == "observed" and facts.lower_bound
    assert facts.per_core_rps is None


def test_the_verdict_order_is_generator_then_service_then_pool_then_errors_then_latency() -> None:
    data, stages = _run([(10, 1000.0)], [(1000.0, 0.9)], [0.95], pool=(10, 10))
    row = use_row(data, stages[0], Slo())

    assert stage_limit(row, Slo()) == "load_generator"
    quiet_generator = type(row)(**{**row.__dict__, "generator_cpu": 0.5})
    assert stage_limit(quiet_generator, Slo()) == "service_cpu"
