"""A USE table per stage: utilization, saturation and errors of every resource a run touched.

A load test measures a system: the load generator, the service and its dependencies. For each
stage (a step, a planned stage, or the whole run) this puts side by side the throughput and
p95 clients saw, the busiest Locust process's CPU, the service's CPU in cores and per request
(service demand D = ΔCPU / Δrequests, the Utilization Law U = X·D), the database pool, cache
errors, and Little's law (X·R against the users who were sending); under a CPU cap, the
share of CFS periods in which the service used its whole quota (throttled). The verdict rule
of docs/capacity-method (CAPACITY-METHOD.md), in order: the generator, the service's CPU (its
cores, or throttled in at least half of its periods), the database pool, errors, the SLO's
latency; `none` when nothing gave out.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from urllib.parse import urlparse

import numpy as np
import pandas as pd

from reports import service_metrics
from reports.generator import busiest_share, generator_and_machine
from reports.load import RunData
from reports.metrics import endpoint_history
from reports.saturation import MeasuredStage
from reports.slo import Slo
from reports.windows import completed_between
from rundir.summary_json import SummaryUseRow

GENERATOR_LIMIT = 0.90  # Locust's own warning threshold ("CPU usage above 90%!")
SERVICE_CPU_LIMIT = 0.85  # cores used / cores available
# Under a CPU cap: throttled periods / periods. A service that used its whole quota in most
# periods it ran in wanted more CPU than it had.
THROTTLED_LIMIT = 0.5
# A later stage this much faster than one at its CPU limit: X had not stopped growing there.
STILL_GROWING = 1.10
LOCUST_CPU_WARNING = "CPU usage"  # Locust's log line when a process passes 90 %
_LOG_TIME = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)")
POOL_FULL_SHARE = 0.5  # every connection in use at most of the stage's snapshots
LATE_SHARE_LIMIT = 0.05  # open model: more late sends than this and the generator fell behind
# Demand needs enough work to be read off the CPU counter (10 ms ticks) without noise.
MIN_DEMAND_REQUESTS = 200
DEMAND_STAGES = 2  # D is pooled over the stages with the busiest service CPU


@dataclass(frozen=True, kw_only=True)
class UseRow(MeasuredStage):
    """One stage: what clients saw (the measured stage) and what each resource did meanwhile."""

    generator_cpu: float | None  # the busiest Locust process, share of one core
    service_cores_used: float | None
    service_cores_available: float | None
    service_cpu_s: float | None  # over the measured window
    service_requests: float | None  # over the same window
    service_cpu_s_per_request: float | None
    in_flight: float | None  # Little's law: X · R, to compare with `users`
    pool: str | None
    pool_in_use: int | None  # the most connections checked out at a snapshot
    pool_size: int | None
    pool_full_share: float | None  # share of the snapshots with every connection in use
    cache_errors: float | None
    other_cores: float | None  # busy cores on the machine beyond the generator and the service
    # Under a CPU cap (the service's cgroup, cpu.stat): CFS periods in which it ran, those in
    # which it used its whole quota and stalled, and the time it spent stalled.
    cpu_periods: float | None = None
    throttled_periods: float | None = None
    throttled_s: float | None = None
    limit: str

    @property
    def service_utilization(self) -> float | None:
        if self.service_cores_used is None or not self.service_cores_available:
            return None
        return self.service_cores_used / self.service_cores_available

    @property
    def throttled_share(self) -> float | None:
        """Throttled periods / periods; None without a cap or without a period."""
        if self.throttled_periods is None or not self.cpu_periods:
            return None
        return self.throttled_periods / self.cpu_periods

    def as_summary(self) -> SummaryUseRow:
        """A row of summary.json's `use`."""
        return SummaryUseRow(
            users=self.users,
            start_s=self.start_s,
            end_s=self.end_s,
            rps=self.rps,
            p95_ms=self.p95_ms,
            error_rate=self.error_rate,
            met_slo=self.met_slo,
            rps_from=self.rps_from,
            generator_cpu=self.generator_cpu,
            service_cores_used=self.service_cores_used,
            service_cores_available=self.service_cores_available,
            service_cpu_s=self.service_cpu_s,
            service_requests=self.service_requests,
            service_cpu_s_per_request=self.service_cpu_s_per_request,
            in_flight=self.in_flight,
            pool=self.pool,
            pool_in_use=self.pool_in_use,
            pool_size=self.pool_size,
            pool_full_share=self.pool_full_share,
            cache_errors=self.cache_errors,
            other_cores=self.other_cores,
            cpu_periods=self.cpu_periods,
            throttled_periods=self.throttled_periods,
            throttled_s=self.throttled_s,
            throttled_share=self.throttled_share,
            limit=self.limit,
            service_utilization=self.service_utilization,
        )


def _settled(stage: MeasuredStage) -> tuple[float, float]:
    """A stage's steady state, as saturation measures it: its second half."""
    return stage.start_s + (stage.end_s - stage.start_s) / 2, stage.end_s


def _window(snapshots: pd.DataFrame | None, stage: MeasuredStage) -> tuple[float, float] | None:
    """The first and last snapshot in the stage's second half, else in the whole stage, else
    the two that bracket it: a stage shorter than two scrape intervals is still measured (the
    CPU per request exactly; the cores used averaged over the wider window)."""
    if snapshots is None or snapshots.empty:
        return None
    for start, end in (_settled(stage), (stage.start_s, stage.end_s)):
        times = service_metrics.snapshot_times(snapshots, start, end)
        if len(times) >= 2:
            return times[0], times[-1]
    times = service_metrics.snapshot_times(snapshots, -math.inf, math.inf)
    before = [t for t in times if t <= stage.start_s]
    after = [t for t in times if t >= stage.end_s]
    if before and after and after[0] > before[-1]:
        return before[-1], after[0]
    return None


def _client_requests(data: RunData, first_s: float, last_s: float) -> float | None:
    """Requests Locust completed between two instants: from the one-second windows (exact
    for any number of processes), else the history's cumulative counts, interpolated."""
    if data.windows is not None:
        return completed_between(data.windows, first_s, last_s)
    if data.history is None:
        return None
    rows = endpoint_history(data.history)
    if len(rows) < 2:
        return None
    at = np.interp([first_s, last_s], rows.index.to_numpy(float), rows["requests"].to_numpy(float))
    return float(at[1] - at[0])


def _in_flight(history: pd.DataFrame | None, stage: MeasuredStage) -> float | None:
    """X · R over the stage's second half: X the stage's throughput, R the mean response
    time of the requests the history counted meanwhile (Locust's cumulative mean)."""
    if history is None or "avg_ms" not in history.columns:
        return None
    rows = endpoint_history(history)
    start, end = _settled(stage)
    inside = rows[(rows.index >= start) & (rows.index <= end)]
    if len(inside) < 2:
        return None
    first, last = inside.iloc[0], inside.iloc[-1]
    sent = float(last["requests"] - first["requests"])
    if sent <= 0:
        return None
    total_ms = float(last["avg_ms"]) * float(last["requests"])
    total_ms -= float(first["avg_ms"]) * float(first["requests"])
    return stage.rps * (total_ms / sent) / 1000.0


def _pool_peak(
    snapshots: pd.DataFrame, first_s: float, last_s: float
) -> tuple[str, int, int, float] | None:
    """The pool closest to full over the window: (pool, most in use, size, share of the
    snapshots that found every connection checked out)."""
    window = snapshots[(snapshots["elapsed_s"] >= first_s) & (snapshots["elapsed_s"] <= last_s)]
    in_use, size = service_metrics.pool_usage(window)
    if in_use.empty or size.empty:
        return None
    best: tuple[float, str, int, int, float] | None = None
    for pool, column in in_use.items():
        limit = float(size.get(pool, 0.0))
        values = column.dropna()
        if limit <= 0 or values.empty:
            continue
        peak = float(values.max())
        full = float((values >= limit).mean())
        if best is None or (full, peak / limit) > (best[4], best[0]):
            best = (peak / limit, str(pool), int(peak), int(limit), full)
    return best[1:] if best is not None else None


def _recorded_cores(data: RunData) -> float | None:
    """Cores the service had, as run.json recorded them: `--service-cores`, or the CPUs
    loadcap pinned it to (for a target that does not say so itself)."""
    if data.run is None:
        return None
    given, pinned = data.run.service_cores, data.run.service_cpus
    if given is not None and given > 0:
        return float(given)
    return float(len(pinned)) if pinned else None


def _service_is_local(data: RunData) -> bool:
    """A target on loopback shares the machine whose CPU generator.csv recorded."""
    host = (data.run.host if data.run is not None else None) or ""
    return urlparse(host).hostname in ("localhost", "::1") or (
        urlparse(host).hostname or ""
    ).startswith("127.")


THROTTLING_SAMPLES = (
    service_metrics.CPU_PERIODS,
    service_metrics.CPU_THROTTLED_PERIODS,
    service_metrics.CPU_THROTTLED_SECONDS,
)


def use_row(data: RunData, stage: MeasuredStage, slo: Slo) -> UseRow:
    """Measure every resource over one stage (its verdict is `stage_limit`'s to give)."""
    snapshots = data.snapshots
    window = _window(snapshots, stage)
    cpu = requests = cores = cache_errors = None
    pool = None
    periods = throttled = throttled_s = None
    if snapshots is not None and window is not None:
        first_s, last_s = window
        periods, throttled, throttled_s = (
            service_metrics.counter_increase(snapshots, sample, first_s, last_s)
            for sample in THROTTLING_SAMPLES
        )
        cpu = service_metrics.counter_increase(
            snapshots, service_metrics.PROCESS_CPU, first_s, last_s
        )
        requests = service_metrics.counter_increase(
            snapshots, service_metrics.REQUESTS, first_s, last_s
        )
        if requests is None:  # a foreign service: the requests Locust saw completed
            requests = _client_requests(data, first_s, last_s)
        cores = service_metrics.cores_available(snapshots) or _recorded_cores(data)
        cache_errors = service_metrics.counter_increase(
            snapshots, service_metrics.CACHE_ERRORS, first_s, last_s
        )
        pool = _pool_peak(snapshots, first_s, last_s)
    seconds = window[1] - window[0] if window is not None else None
    demand = cpu / requests if cpu is not None and requests else None
    service_cores = cpu / seconds if cpu is not None and seconds else None
    generator_cores, machine_cores = generator_and_machine(data.generator, *_settled(stage))
    other = None
    if machine_cores is not None and generator_cores is not None:
        local = service_cores if _service_is_local(data) else 0.0
        other = max(0.0, machine_cores - generator_cores - (local or 0.0))
    return UseRow(
        **asdict(stage),
        generator_cpu=busiest_share(data.generator, *_settled(stage)),
        service_cores_used=service_cores,
        service_cores_available=cores,
        service_cpu_s=cpu,
        service_requests=requests,
        service_cpu_s_per_request=demand if demand and demand > 0 else None,
        in_flight=_in_flight(data.history, stage),
        pool=pool[0] if pool else None,
        pool_in_use=pool[1] if pool else None,
        pool_size=pool[2] if pool else None,
        pool_full_share=pool[3] if pool else None,
        cache_errors=cache_errors,
        other_cores=other,
        cpu_periods=periods,
        throttled_periods=throttled,
        throttled_s=throttled_s,
        limit="none",
    )


def stage_limit(row: UseRow, slo: Slo, *, generator_warned: bool = False) -> str:
    """The verdict rule, in order; `generator_warned`: Locust warned during the stage that a
    process passed 90 % CPU."""
    if generator_warned or (row.generator_cpu is not None and row.generator_cpu >= GENERATOR_LIMIT):
        return "load_generator"
    utilization = row.service_utilization
    if utilization is not None and utilization >= SERVICE_CPU_LIMIT:
        return "service_cpu"
    # A throttled service is a saturated one, however busy the machine kept it otherwise.
    if row.throttled_share is not None and row.throttled_share >= THROTTLED_LIMIT:
        return "service_cpu"
    # A pool is saturated when requests wait for it: full at most snapshots, not at one.
    if row.pool_full_share is not None and row.pool_full_share > POOL_FULL_SHARE:
        return "db_pool"
    if row.error_rate > slo.max_error_rate:
        return "errors"
    if row.p95_ms is not None and row.p95_ms > slo.p95_ms:
        return "slo_latency"
    return "none"


def _saturated_only_where_throughput_stopped(rows: list[UseRow]) -> list[UseRow]:
    """The method's rule for the service's CPU: busy at its limit *while X stops growing*.
    A stage at its CPU limit followed by a stage more than STILL_GROWING faster was not the
    service's capacity: its CPU per request fell with the load (the event loop batches more
    per wake-up; seen under a CPU cap, where 1 user already keeps the quota busy) and it had
    more to give. Such stages are not limits; the first one X did not outgrow is."""
    rows = list(rows)
    for index, row in enumerate(rows):
        if row.limit != "service_cpu":
            continue
        later = max((r.rps for r in rows[index + 1 :]), default=None)
        if later is None or later <= row.rps * STILL_GROWING:
            break
        rows[index] = replace(row, limit="none")
    return rows


def pooled_demand(rows: Sequence[UseRow]) -> tuple[float | None, list[int]]:
    """D pooled over the (up to DEMAND_STAGES) stages where the service's CPU was busiest:
    D usually falls a little as load rises, so the busiest stages are nearest capacity.
    (None, []) when no stage did enough work to read D from the CPU counter."""
    measured = [
        r
        for r in rows
        if r.service_cpu_s is not None
        and r.service_requests is not None
        and r.service_requests >= MIN_DEMAND_REQUESTS
        and r.service_cpu_s > 0
    ]
    if not measured:
        return None, []
    # Busiest first; among stages equally busy (a capped service at its quota), the most
    # loaded: nearest capacity.
    busiest = sorted(
        measured, key=lambda r: (round(r.service_cores_used or 0.0, 2), r.users), reverse=True
    )
    chosen = busiest[:DEMAND_STAGES]
    cpu = sum(r.service_cpu_s or 0.0 for r in chosen)
    requests = sum(r.service_requests or 0.0 for r in chosen)
    return cpu / requests, sorted(r.users for r in chosen)


@dataclass(frozen=True, kw_only=True)
class Verdict:
    rows: list[UseRow]
    first_limit: str
    limit_index: int | None  # the row where it happened
    generator_saturated: bool


def late_share(data: RunData) -> float | None:
    """Open model: the share of sends that started behind schedule (run.json / hdr.json)."""
    facts = (data.run.open_model if data.run is not None else None) or (
        data.hdr.open_model if data.hdr is not None else None
    )
    if facts is None or facts.sent is None or facts.late_sends is None or facts.sent <= 0:
        return None
    return facts.late_sends / facts.sent


def cpu_warnings(data: RunData) -> list[float]:
    """When (run-clock seconds) Locust's log warned that a process's CPU passed 90 %.

    Locust logs the first warning only, with a local-time timestamp; a warning whose time
    cannot be read counts as having happened at the start (the cautious reading)."""
    lines = [line for line in data.log_lines if LOCUST_CPU_WARNING in line]
    if not lines:
        return []
    start = None
    if data.history is not None and not data.history.empty:
        start = float((data.history["timestamp"] - data.history["elapsed_s"]).iloc[0])
    moments = []
    for line in lines:
        match = _LOG_TIME.match(line)
        if match is None or start is None:
            moments.append(0.0)
            continue
        logged = time.mktime(time.strptime(match.group(1), "%Y-%m-%d %H:%M:%S"))
        moments.append(logged - start)
    return moments


def verdict(data: RunData, stages: Sequence[MeasuredStage], slo: Slo) -> Verdict:
    """The USE rows of `stages` and the first limit hit, in stage order."""
    warnings = cpu_warnings(data)
    late = late_share(data)
    rows = []
    for stage in stages:
        row = use_row(data, stage, slo)
        # The stage the warning came in (one before the first stage: the first; one after
        # the last: the last).
        is_first, is_last = stage is stages[0], stage is stages[-1]
        warned = any(
            (stage.start_s <= t < stage.end_s)
            or (is_first and t < stage.start_s)
            or (is_last and t >= stage.end_s)
            for t in warnings
        )
        limit = stage_limit(row, slo, generator_warned=warned)
        if late is not None and late > LATE_SHARE_LIMIT and limit == "none":
            limit = "load_generator"
        rows.append(replace(row, limit=limit))
    rows = _saturated_only_where_throughput_stopped(rows)
    index = next((i for i, r in enumerate(rows) if r.limit != "none"), None)
    first = rows[index].limit if index is not None else "none"
    return Verdict(
        rows=rows,
        first_limit=first,
        limit_index=index,
        generator_saturated=first == "load_generator",
    )
