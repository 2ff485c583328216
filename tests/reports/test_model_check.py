"""Under a CPU cap: throttling in the USE table, the verdict, and the model check's arithmetic,
on synthetic runs whose snapshots carry what the service's /metrics exports under a cap."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from reports.load import RunData
from reports.saturation import MeasuredStage
from reports.service_capacity import analyse_capacity
from reports.slo import Slo
from rundir.run_json import CpuCapRecord, Machine, RunRecord

STAGE_S = 10
PERIODS_PER_S = 100  # a 10 ms CFS period, the service runnable in every one


@dataclass(frozen=True)
class Stage:
    users: int
    rps: float
    cores: float  # service CPU used
    throttled: float  # share of the periods throttled
    generator: float = 0.3


def _snapshots(stages: list[Stage], quota: float | None) -> pd.DataFrame:
    rows: list[dict[str, object]] = []
    requests = cpu = periods = throttled = stalled = 0.0

    def snapshot(at: float) -> None:
        when = {"timestamp": 1000.0 + at, "elapsed_s": at, "phase": "during"}
        samples = {
            "process_cpu_seconds_total": cpu,
            "loadcap_cpu_cores_available": min(1.0, quota or 1.0),
        }
        if quota is not None:
            samples |= {
                "loadcap_cpu_quota_cores": quota,
                "loadcap_cpu_periods_total": periods,
                "loadcap_cpu_throttled_periods_total": throttled,
                "loadcap_cpu_throttled_seconds_total": stalled,
            }
        rows.extend({**when, "sample": name, "value": value} for name, value in samples.items())
        rows.append({**when, "sample": "loadcap_http_requests_total", "value": requests,
                     "route": "/x"})  # fmt: skip

    snapshot(0.0)
    clock = 0
    for stage in stages:
        for _ in range(STAGE_S):
            clock += 1
            requests += stage.rps
            cpu += stage.cores
            periods += PERIODS_PER_S
            throttled += PERIODS_PER_S * stage.throttled
            stalled += stage.throttled * 0.0075 * PERIODS_PER_S
            snapshot(float(clock))
    return pd.DataFrame(rows)


def _history(stages: list[Stage]) -> pd.DataFrame:
    rows, sent = [], 0.0
    for index, stage in enumerate(stages):
        for second in range(STAGE_S):
            sent += stage.rps
            at = float(index * STAGE_S + second + 1)
            rows.append({"elapsed_s": at, "timestamp": 1000.0 + at, "users": stage.users,
                         "endpoint": "Aggregated", "requests": sent, "failures": 0.0,
                         "p95_ms": 20.0, "avg_ms": 5.0})  # fmt: skip
    return pd.DataFrame(rows)


def _generator(stages: list[Stage]) -> pd.DataFrame:
    rows = [{"timestamp": 1000.0, "elapsed_s": 0.0, "process": "local", "cpu_s": 0.0}]
    cpu = 0.0
    for index, stage in enumerate(stages):
        for second in range(STAGE_S):
            cpu += stage.generator
            at = float(index * STAGE_S + second + 1)
            rows.append({"timestamp": 1000.0 + at, "elapsed_s": at, "process": "local",
                         "cpu_s": cpu})  # fmt: skip
    return pd.DataFrame(rows)


def _run(stages: list[Stage], *, quota: float | None = 0.25) -> tuple[RunData, list[MeasuredStage]]:
    cap = CpuCapRecord(cores=quota, period_us=10_000) if quota is not None else None
    data = RunData(
        run_dir=Path("."),
        stats=pd.DataFrame(),
        history=_history(stages),
        failures=pd.DataFrame(columns=["name", "error", "occurrences"]),
        exceptions=pd.DataFrame(),
        hdr=None,
        run=RunRecord(
            host="http://127.0.0.1:1", machine=Machine(cpu_model="Test CPU"), service_cpu_cap=cap
        ),
        snapshots=_snapshots(stages, quota),
        log_lines=[],
        generator=_generator(stages),
    )
    measured = [
        MeasuredStage(
            users=s.users,
            start_s=float(i * STAGE_S),
            end_s=float((i + 1) * STAGE_S),
            rps=s.rps,
            p95_ms=20.0,
            error_rate=0.0,
            met_slo=True,
        )
        for i, s in enumerate(stages)
    ]
    return data, measured


# D = 0.25 ms below saturation: a 0.25-core cap carries 1,000 req/s by the Utilization Law.
CAPPED = [
    Stage(2, 200.0, 0.05, 0.0),
    Stage(4, 400.0, 0.10, 0.02),
    Stage(6, 960.0, 0.245, 0.9),
    Stage(8, 940.0, 0.248, 0.97),
    Stage(10, 900.0, 0.249, 0.99),
]


def test_the_model_check_predicts_cap_over_demand_and_compares_the_saturated_median() -> None:
    data, _stages = _run(CAPPED)

    found, facts = analyse_capacity(data, Slo(), None)

    assert found.first_limit == "service_cpu" and found.limit_index == 2
    check = facts.model_check
    assert check is not None
    assert check.cap_cores == 0.25
    assert check.service_cpu_s_per_request == pytest.approx(0.00025)
    assert check.demand_from == [2, 4]
    assert check.predicted_rps == pytest.approx(1000.0)
    assert check.observed_rps == pytest.approx(940.0)  # the median of 960, 940, 900
    assert check.observed_from == [6, 8, 10]
    assert check.error == pytest.approx(-0.06)
    summary = facts.as_summary().model_check
    assert summary is not None and summary.error == pytest.approx(-0.06)
    assert "1,000 req/s" in check.sentence and "6.0% below the prediction" in check.sentence


def test_throttling_is_in_every_use_row_and_its_share_is_periods_throttled() -> None:
    data, _stages = _run(CAPPED)

    found, _ = analyse_capacity(data, Slo(), None)

    row = found.rows[3].as_summary()
    assert row.service_cpu_s is not None
    seconds = row.service_cpu_s / 0.248  # the window the row was measured over
    assert row.cpu_periods == pytest.approx(PERIODS_PER_S * seconds)
    assert row.throttled_share == pytest.approx(0.97)
    assert row.throttled_s == pytest.approx(0.97 * 0.0075 * PERIODS_PER_S * seconds)


def test_a_throttled_service_is_saturated_even_when_the_machine_kept_it_under_its_cap() -> None:
    # Other programs took the CPU: the service used 0.15 of its 0.25 cores (60 %), yet its
    # quota ran out in 80 % of the periods it ran in.
    data, _stages = _run([Stage(2, 200.0, 0.05, 0.0), Stage(4, 600.0, 0.15, 0.8)])

    found, _ = analyse_capacity(data, Slo(), None)

    assert [row.limit for row in found.rows] == ["none", "service_cpu"]


def test_an_uncapped_run_has_no_model_check_and_no_throttling() -> None:
    data, _stages = _run([Stage(2, 200.0, 0.05, 0.0), Stage(4, 3900.0, 0.95, 0.0)], quota=None)

    found, facts = analyse_capacity(data, Slo(), None)

    assert found.first_limit == "service_cpu"
    assert facts.model_check is None
    assert found.rows[1].throttled_share is None and found.rows[1].cpu_periods is None


def test_demand_also_comes_from_a_stage_a_busy_machine_starved_after_saturation() -> None:
    starved = Stage(12, 300.0, 0.075, 0.0)  # other programs took the CPU: nothing saturated
    data, _stages = _run([*CAPPED[2:], starved])

    _, facts = analyse_capacity(data, Slo(), None)

    assert facts.model_check is not None
    assert facts.model_check.demand_from == [12]
    assert facts.model_check.predicted_rps == pytest.approx(1000.0)


def test_no_model_check_when_the_generator_gave_out_first_or_no_stage_was_unsaturated() -> None:
    generator_first = [Stage(2, 200.0, 0.05, 0.0, generator=0.95), *CAPPED[1:]]
    saturated_at_once = CAPPED[2:]

    for stages in (generator_first, saturated_at_once):
        data, _measured = _run(stages)
        _, facts = analyse_capacity(data, Slo(), None)
        assert facts.model_check is None, stages


def test_a_stage_at_its_cpu_limit_is_not_the_capacity_while_throughput_still_grows() -> None:
    # Measured under a 0.4-core cap: 1 user kept the quota busy (throttled in 90 % of the
    # periods) at 1,262 req/s, yet 4 users got 2,152 from the same 0.4 cores (D fell with
    # the load). Saturation is the CPU at its limit *while X stops growing*.
    growing = [
        Stage(1, 1262.0, 0.4, 0.9),
        Stage(2, 1618.0, 0.4, 1.0),
        Stage(3, 1906.0, 0.4, 0.98),
        Stage(4, 2152.0, 0.4, 1.0),
        Stage(5, 1748.0, 0.4, 0.99),  # noise below the plateau stays saturated
        Stage(6, 2077.0, 0.4, 1.0),
    ]
    data, _stages = _run(growing, quota=0.4)

    found, facts = analyse_capacity(data, Slo(), None)

    assert [row.limit for row in found.rows] == ["none"] * 3 + ["service_cpu"] * 3
    assert found.limit_index == 3
    check = facts.model_check
    assert check is not None and check.observed_from == [4, 5, 6]
    assert check.observed_rps == pytest.approx(2077.0)
