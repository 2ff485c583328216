"""Saturation of a step run: per-stage throughput, p95 and errors, the capacity that met the
SLO, and which resource gave out first.

A stage's figures come from its second half, so the ramp after a step does not blur them; the
p95 is Locust's current-window percentile (last 10 s) at the stage's last history row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from reports.load import RunData
from reports.metrics import endpoint_history
from reports.slo import Slo
from reports.stage_limits import StageServer, limit_sentence, stage_server
from reports.windows import HISTORY, WINDOWS, Counted, whole_windows
from rundir.run_json import RunRecord
from rundir.summary_json import SummarySaturation, SummaryStage

FLAT_GROWTH = 0.05  # more users but under 5% more throughput: the service stopped scaling
MIN_STAGE_S = 3.0  # a user count held for less than this is part of a ramp, not a stage


@dataclass(frozen=True, kw_only=True)
class MeasuredStage:
    """A stage as the run measured it, from its settled second half (what was planned is in
    run.json's `stages`)."""

    users: int
    start_s: float
    end_s: float
    rps: float
    p95_ms: float | None
    error_rate: float
    met_slo: bool
    rps_from: str = WINDOWS  # reports.windows.SOURCES: where `rps` and `error_rate` came from


@dataclass(frozen=True, kw_only=True)
class Saturation:
    stages: list[MeasuredStage]
    capacity_rps: float | None
    limit: str

    def as_summary(self, *, limit: str | None = None) -> SummarySaturation:
        """summary.json's `saturation`; `limit`: the sentence to say, if not this one."""
        return SummarySaturation(
            capacity_rps=self.capacity_rps,
            limit=self.limit if limit is None else limit,
            stages=[_stage_summary(stage) for stage in self.stages],
        )


def _stage_summary(stage: MeasuredStage) -> SummaryStage:
    return SummaryStage(
        users=stage.users,
        start_s=stage.start_s,
        end_s=stage.end_s,
        rps=stage.rps,
        p95_ms=stage.p95_ms,
        error_rate=stage.error_rate,
        met_slo=stage.met_slo,
        rps_from=stage.rps_from,
    )


def planned_stages(run: RunRecord | None) -> list[tuple[int, float, float]]:
    """(users, start_s, end_s) from run.json's `stages`, when the runner recorded them."""
    bounds = []
    for stage in (run.stages if run is not None else None) or []:
        if stage.users is None or stage.start_s is None or stage.end_s is None:
            return []  # an incomplete record: the history's user counts say more
        bounds.append((stage.users, stage.start_s, stage.end_s))
    return bounds


def observed_stages(history: pd.DataFrame) -> list[tuple[int, float, float]]:
    """(users, start_s, end_s) for each stretch of constant user count in the history."""
    rows = endpoint_history(history)
    change = rows["users"].ne(rows["users"].shift()).cumsum()
    stages = []
    for _, stretch in rows.groupby(change, sort=True):
        start, end, count = float(stretch.index[0]), float(stretch.index[-1]), stretch["users"]
        if count.iloc[0] > 0 and end - start >= MIN_STAGE_S:
            stages.append((int(count.iloc[0]), start, end))
    return stages


def is_step_run(run: RunRecord | None, stages: Sequence[tuple[int, float, float]]) -> bool:
    if run is not None and run.shape is not None:
        return run.shape == "step"
    users = [u for u, _, _ in stages]
    return len(stages) >= 2 and users == sorted(users) and len(set(users)) == len(users)


def measure_stage(
    history: pd.DataFrame,
    users: int,
    start_s: float,
    end_s: float,
    slo: Slo,
    *,
    windows: pd.DataFrame | None = None,
) -> MeasuredStage | None:
    """The stage's steady state: its second half. Throughput and errors from the whole
    one-second windows in it when the run has them (exact for any number of Locust
    processes), else from the history; the p95 from the history. None if too little of
    the stage was recorded."""
    rows = endpoint_history(history)
    rows = rows[(rows.index >= start_s) & (rows.index <= end_s)]
    settled = rows[rows.index >= start_s + (end_s - start_s) / 2]
    counted = (
        whole_windows(windows, start_s + (end_s - start_s) / 2, end_s)
        if windows is not None
        else None
    )
    if counted is None:
        counted = _history_counts(rows, settled)
    if counted is None or counted.requests <= 0:
        return None
    p95 = settled.iloc[-1].get("p95_ms") if not settled.empty else None
    p95_ms = float(p95) if p95 is not None and pd.notna(p95) else None
    error_rate = counted.failures / counted.requests
    return MeasuredStage(
        users=users,
        start_s=start_s,
        end_s=end_s,
        rps=counted.rps,
        p95_ms=p95_ms,
        error_rate=error_rate,
        met_slo=p95_ms is not None and slo.met_by(p95_ms=p95_ms, error_rate=error_rate),
        rps_from=counted.source,
    )


def _history_counts(rows: pd.DataFrame, settled: pd.DataFrame) -> Counted | None:
    """Requests and failures between the row before the settled half and its last row."""
    if len(rows) < 2 or settled.empty:
        return None
    base = (
        rows[rows.index < settled.index[0]].iloc[-1] if len(rows) > len(settled) else rows.iloc[0]
    )
    last = settled.iloc[-1]
    seconds = float(settled.index[-1] - base.name)
    if seconds <= 0:
        return None
    sent = int(last["requests"] - base["requests"])
    failed = int(last["failures"] - base["failures"])
    return Counted(sent, failed, seconds, source=HISTORY)


def measure_stages(
    data: RunData, bounds: Sequence[tuple[int, float, float]], slo: Slo
) -> list[MeasuredStage]:
    """Each (users, start_s, end_s) measured; the ones too little was recorded of left out."""
    if data.history is None:
        return []
    measured = (measure_stage(data.history, *b, slo, windows=data.windows) for b in bounds)
    return [stage for stage in measured if stage is not None]


def analyse(data: RunData, slo: Slo) -> Saturation | None:
    """Capacity and limit for a step run; None for any other shape."""
    if data.history is None:
        return None
    bounds = planned_stages(data.run) or observed_stages(data.history)
    if not is_step_run(data.run, bounds):
        return None
    stages = measure_stages(data, bounds, slo)
    if not stages:
        return None
    passing = [s.rps for s in stages if s.met_slo]
    servers = [stage_server(data.snapshots, s.start_s, s.end_s) for s in stages]
    return Saturation(
        stages=stages,
        capacity_rps=round(max(passing), 1) if passing else None,
        limit=_limit(data, stages, servers, slo),
    )


def _limit(
    data: RunData, stages: Sequence[MeasuredStage], servers: Sequence[StageServer | None], slo: Slo
) -> str:
    breach = next((i for i, s in enumerate(stages) if not s.met_slo), None)
    if breach is None:
        return _all_stages_met(stages)
    previous = servers[breach - 1] if breach > 0 else None
    return limit_sentence(
        stages[breach],
        servers[breach],
        previous,
        slo=slo,
        failures=data.failures,
        log_lines=data.log_lines,
    )


def _all_stages_met(stages: Sequence[MeasuredStage]) -> str:
    """No SLO breach; but throughput that stops growing with users is saturation all the same."""
    top = stages[-1]
    best = max(stages, key=lambda s: s.rps)
    if best is not top and top.rps < best.rps * (1 + FLAT_GROWTH) and len(stages) > 1:
        first_p95 = stages[0].p95_ms or 0.0
        return (
            f"Every stage met the SLO, but throughput stopped growing at {best.users} users "
            f"({best.rps:.1f} req/s) while p95 climbed from {first_p95:.0f} to "
            f"{top.p95_ms or 0.0:.0f} ms: something saturated before the SLO broke (the USE "
            "table says whether it was the load generator or the service)."
        )
    return (
        f"Every stage met the SLO, up to {top.users} users at {top.rps:.1f} req/s: "
        "the limit lies above the load tested."
    )
