"""The capacity a run measured, and of what: summary.json's `capacity` object and its sentence.

Two figures, never confused. `observed_rps` is the highest throughput that met the SLO, as the
clients saw it. `per_core_rps` = 1 / D is what one core of the service carries by the
Utilization Law (U = X·D, so X ≤ 1/D at U = 1), D being the CPU seconds the service spent per
request in the stages nearest saturation. Which one is *the service's capacity* follows from
what hit its limit first: when the service's CPU (or its pool, its errors, its latency) gave
out, the observed figure is the capacity at this configuration (`basis: observed`); when the
load generator did, or nothing did, the run only shows a lower bound and the capacity is
estimated from demand (`basis: utilization_law`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from reports import service_metrics
from reports.load import RunData
from reports.model_check import ModelCheck, model_check
from reports.saturation import (
    MeasuredStage,
    Saturation,
    measure_stages,
    observed_stages,
    planned_stages,
)
from reports.slo import Slo
from reports.use import (
    GENERATOR_LIMIT,
    SERVICE_CPU_LIMIT,
    THROTTLED_LIMIT,
    UseRow,
    Verdict,
    pooled_demand,
    verdict,
)
from reports.windows import HISTORY
from rundir.summary_json import SummaryCapacity


@dataclass(frozen=True, kw_only=True)
class CapacityFacts:
    observed_rps: float | None
    service_cpu_s_per_request: float | None
    per_core_rps: float | None
    basis: str  # "observed" | "utilization_law"
    generator_saturated: bool
    first_limit: str
    service_cores: float | None  # cores the service could use in this run
    service_capacity_rps: float | None  # what this configuration carries, on `basis`
    lower_bound: bool  # service_capacity_rps is at least this, maybe more
    demand_from: list[int]  # users of the stages D was taken from
    cpu_model: str | None
    sentence: str
    model_check: ModelCheck | None = None  # under a CPU cap that the service saturated

    def as_summary(self) -> SummaryCapacity:
        """summary.json's `capacity`."""
        return SummaryCapacity(
            observed_rps=self.observed_rps,
            service_cpu_s_per_request=self.service_cpu_s_per_request,
            per_core_rps=self.per_core_rps,
            basis=self.basis,
            generator_saturated=self.generator_saturated,
            first_limit=self.first_limit,
            service_cores=self.service_cores,
            service_capacity_rps=self.service_capacity_rps,
            lower_bound=self.lower_bound,
            demand_from=self.demand_from,
            cpu_model=self.cpu_model,
            sentence=self.sentence,
            model_check=self.model_check.as_summary() if self.model_check else None,
        )


def measured_stages(data: RunData, slo: Slo, saturation: Saturation | None) -> list[MeasuredStage]:
    """The step stages, else the run's planned (or observed) stages: at least the whole run."""
    if saturation is not None:
        return list(saturation.stages)
    if data.history is None:
        return []
    return measure_stages(data, planned_stages(data.run) or observed_stages(data.history), slo)


def analyse_capacity(
    data: RunData, slo: Slo, saturation: Saturation | None
) -> tuple[Verdict, CapacityFacts]:
    """The USE table of a loaded run and the capacity it supports."""
    found = verdict(data, measured_stages(data, slo, saturation), slo)
    machine = data.run.machine if data.run is not None else None
    facts = capacity_facts(
        found, cpu_model=machine.cpu_model if machine else None, cap_cores=cpu_cap(data)
    )
    processes = (data.run.processes if data.run is not None else None) or 1
    if processes > 1 and any(row.rps_from == HISTORY for row in found.rows):
        facts = replace(facts, sentence=f"{facts.sentence} {BATCHED_HISTORY}")
    return found, facts


def cpu_cap(data: RunData) -> float | None:
    """The CPU quota the service ran under: what it said on /metrics (whoever set it), else
    the `--service-cpus` run.json recorded."""
    said = service_metrics.cpu_quota(data.snapshots) if data.snapshots is not None else None
    recorded = data.run.service_cpu_cap if data.run is not None else None
    return said if said is not None else (recorded.cores if recorded is not None else None)


def capacity_facts(
    verdict: Verdict, *, cpu_model: str | None = None, cap_cores: float | None = None
) -> CapacityFacts:
    rows = verdict.rows
    passing = [r.rps for r in rows if r.met_slo]
    observed = round(max(passing), 1) if passing else None
    # D from the stages up to the one where a service resource gave out (later ones measured
    # a broken system); when only the generator (or nothing) gave out, the service never did
    # and every stage measured it.
    limit = verdict.first_limit
    whole = verdict.limit_index is None or limit == "load_generator"
    considered = rows if whole else rows[: (verdict.limit_index or 0) + 1]
    demand, demand_from = pooled_demand(considered)
    per_core = 1.0 / demand if demand else None
    cores = next((r.service_cores_available for r in rows if r.service_cores_available), None)
    capacity: float | None
    if limit in ("load_generator", "none") and per_core is not None:
        basis, capacity, lower = "utilization_law", per_core * (cores or 1.0), False
    else:
        basis, capacity = "observed", observed
        lower = limit in ("load_generator", "none")
    facts = {
        "observed_rps": observed,
        "service_cpu_s_per_request": demand,
        "per_core_rps": round(per_core, 1) if per_core is not None else None,
        "basis": basis,
        "generator_saturated": verdict.generator_saturated,
        "first_limit": limit,
        "service_cores": cores,
        "service_capacity_rps": round(capacity, 1) if capacity is not None else None,
        "lower_bound": lower,
        "demand_from": demand_from,
        "cpu_model": cpu_model,
    }
    check = model_check(verdict, cap_cores)
    sentence = limit_sentence(verdict, facts) + disturbance(considered)
    return CapacityFacts(**facts, sentence=sentence, model_check=check)  # type: ignore[arg-type]


BATCHED_HISTORY = (
    "The stage throughput comes from Locust's stats history (this run has no windows.json), "
    "where workers' counts arrive in batches every 3 s: with several Locust processes it can "
    "be off by a quarter."
)
DISTURBED_CORES = 0.25  # other processes on the machine took this much CPU or more


def disturbance(rows: list[UseRow]) -> str:
    """A warning when other processes on the machine competed for its CPU during the run."""
    other = max((r.other_cores for r in rows if r.other_cores is not None), default=None)
    if other is None or other < DISTURBED_CORES:
        return ""
    return (
        f" Other processes on this machine kept {other:.2f} cores busy during the run, so "
        "both sides may have been short of CPU: measure on a quiet machine before buying."
    )


def _at(row: UseRow) -> str:
    return f"at {_users(row.users)} ({row.rps:,.1f} req/s)"


def _users(count: int) -> str:
    return f"{count} user{'s' if count != 1 else ''}"


def _generator(share: float | None) -> str:
    if share is None:
        return "the load generator's CPU was not recorded (no generator.csv samples)"
    return f"the busiest Locust process used {share:.0%} of a core"


def _cores(row: UseRow) -> str:
    if row.service_cores_used is None:
        return "the service's CPU was not measured (no process_cpu_seconds_total)"
    available = row.service_cores_available
    of = f" of {available:g} core{'s' if available != 1 else ''}" if available else " cores"
    return f"the service used {row.service_cores_used:.2f}{of}"


def _throttled(row: UseRow) -> str:
    share = row.throttled_share
    if share is None:
        return ""
    return (
        f" and its CPU cap throttled it in {share:.0%} of {row.cpu_periods:,.0f} CFS periods "
        f"(limit {THROTTLED_LIMIT:.0%})"
    )


def _estimate(facts: dict[str, Any]) -> str:
    per_core, demand = facts["per_core_rps"], facts["service_cpu_s_per_request"]
    if per_core is None:
        return "export the service's process_cpu_seconds_total to estimate how much higher"
    stages = " and ".join(str(users) for users in facts["demand_from"])
    plural = "s" if len(facts["demand_from"]) > 1 else ""
    unit = "users" if facts["demand_from"] != [1] else "user"
    where = f", from the stage{plural} at {stages} {unit}, where its CPU was busiest"
    return (
        f"by the Utilization Law it carries about {per_core:,.0f} req/s per core "
        f"(D = {demand * 1000:.3f} ms of CPU per request{where if stages else ''})"
    )


def limit_sentence(verdict: Verdict, facts: dict[str, Any]) -> str:
    """What hit its limit first, said from the USE table; never blames the service for a
    ceiling the generator set."""
    rows, limit = verdict.rows, verdict.first_limit
    if not rows:
        return "No stage could be measured."
    if limit == "none":
        top = max(rows, key=lambda r: r.rps)
        return (
            f"Nothing hit its limit up to {_users(top.users)} ({top.rps:,.1f} req/s): there "
            f"{_generator(top.generator_cpu)} and {_cores(top)}. The service's capacity lies "
            f"above the load tested; {_estimate(facts)}."
        )
    row = rows[verdict.limit_index or 0]
    if limit == "load_generator":
        generator = f"{row.generator_cpu:.0%}" if row.generator_cpu is not None else "over 90%"
        return (
            f"The load generator hit its limit first: {_at(row)} its busiest Locust process used "
            f"{generator} of a core (limit {GENERATOR_LIMIT:.0%}) while {_cores(row)}, so the "
            f"run measured the generator, not the service. The service's capacity is at least "
            f"the {facts['observed_rps'] or row.rps:,.1f} req/s observed; {_estimate(facts)}. "
            "Give Locust more CPU (--processes, another machine) to observe it."
        )
    if limit == "service_cpu":
        return (
            f"The service's CPU hit its limit first: {_at(row)} {_cores(row)} (limit "
            f"{SERVICE_CPU_LIMIT:.0%}){_throttled(row)}; the observed throughput is its "
            f"capacity at this configuration, {_estimate(facts)}."
        )
    if limit == "db_pool":
        return (
            f"The database connection pool '{row.pool}' hit its limit first: {row.pool_in_use} "
            f"of {row.pool_size} connections in use {_at(row)} while {_cores(row)}."
        )
    if limit == "errors":
        return (
            f"Errors hit first: {row.error_rate:.1%} of requests failed {_at(row)} "
            f"while {_cores(row)}."
        )
    p95 = f"{row.p95_ms:.0f} ms" if row.p95_ms is not None else "unknown"
    return (
        f"Latency hit the SLO first: p95 {p95} {_at(row)} while {_cores(row)} and "
        f"{_generator(row.generator_cpu)}."
    )


def meanwhile(found: Verdict) -> str:
    """Both sides' CPU at the stage that gave out, to follow another limit's explanation."""
    if found.limit_index is None:
        return ""
    row = found.rows[found.limit_index]
    return f"Meanwhile {_cores(row)} and {_generator(row.generator_cpu)}."
