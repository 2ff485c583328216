"""What a plan takes from a run directory's `summary.json` (docs/run-directory.md)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from capacity.errors import CapacityInputError
from capacity.figures import Figure
from rundir.document import DocumentError
from rundir.mix import Mix, MixError
from rundir.summary_json import (
    SUMMARY_FILE,
    Summary,
    SummaryCapacity,
    SummaryEndpoint,
    SummarySaturation,
    SummaryServer,
    SummaryStage,
    read_summary,
)

# A per-core figure from service demand stands for the whole instance only when the run's
# limit was CPU (or nothing, or the generator): a pool, errors or latency limit does not
# scale with vCPUs.
CPU_BOUND_LIMITS = ("load_generator", "service_cpu", "none")


@dataclass(frozen=True, kw_only=True)
class LightLoad:
    """The run's most lightly loaded stage: its p95 is mostly time not spent queueing."""

    rps: float
    p95_ms: float
    where: str


@dataclass(frozen=True, kw_only=True)
class MeasuredRun:
    """What one measured run says one instance carries, and what it saw on the way."""

    per_instance_rps: Figure
    per_core_rps: Figure | None = None  # 1 / D (Utilization Law), when the run measured D
    per_core_spread: tuple[float, float] | None = None  # 1 / D's range over the run's stages
    p95_ms: float | None = None
    slo_p95_ms: Figure | None = None  # the run's own latency objective
    light_load: LightLoad | None = None  # its most lightly loaded stage
    mix: Mix | None = None
    cache_hit_ratio: float | None = None
    replica_read_share: float | None = None  # reads served by replicas / all database reads
    replica_query_ms: float | None = None  # mean time of a replica read
    notes: list[str] = field(default_factory=list)


def read_measured_run(run_dir: Path) -> MeasuredRun:
    path = run_dir / SUMMARY_FILE
    if not run_dir.is_dir():
        raise CapacityInputError(
            f"--from {run_dir}: not a directory (a run directory from `loadcap run`)"
        )
    if not path.is_file():
        raise CapacityInputError(f"{run_dir}: no summary.json (run `loadcap report` first)")
    try:
        summary = read_summary(path)
    except DocumentError as exc:
        raise CapacityInputError(f"{exc.path}: unreadable summary: {exc.detail}") from None
    totals = summary.totals
    notes: list[str] = []
    facts = summary.capacity or SummaryCapacity()
    limit = facts.first_limit or ""
    capped = facts.generator_saturated is True
    capacity = _number(summary.capacity_rps or None)
    if capacity is not None and capacity > 0:
        rps, source = capacity, f"capacity_rps {capacity:,.1f} from {run_dir.name} (met the SLO)"
        if capped or limit == "none":
            why = "capped by the load generator" if capped else "nothing saturated"
            source += f", a lower bound: {why}"
    else:
        total_rps = _number(totals.rps)
        if total_rps is None or total_rps <= 0:
            raise CapacityInputError(f"{path}: neither capacity_rps nor a positive totals.rps")
        rps, source = total_rps, f"totals.rps {total_rps:,.1f} from {run_dir.name}"
        notes.append(
            "no SLO-meeting capacity was found in this run (no capacity_rps): using its "
            "average throughput, which may be below what one instance can carry"
        )
    per_core = _per_core(facts, run_dir, limit)
    if per_core is None and (capped or limit == "none"):
        notes.append(
            f"{run_dir.name} measured no service demand (process_cpu_seconds_total): its "
            f"{rps:,.1f} req/s is a lower bound of what one instance carries"
        )
    p95 = _number(totals.hdr.p95_ms) if totals.hdr else None
    server = summary.server
    return MeasuredRun(
        per_instance_rps=Figure(rps, source),
        per_core_rps=per_core,
        per_core_spread=_per_core_spread(summary) if per_core else None,
        p95_ms=p95 if p95 is not None else _number(totals.p95_ms),
        slo_p95_ms=_slo(summary, run_dir),
        light_load=_light_load(summary, run_dir),
        mix=_mix(summary.endpoints),
        cache_hit_ratio=_share(server.cache_hit_ratio if server else None),
        replica_read_share=_share(server.replica_read_share if server else None),
        replica_query_ms=_replica_query_ms(server),
        notes=notes + _replica_note(server),
    )


def _per_core(facts: SummaryCapacity, run_dir: Path, limit: str) -> Figure | None:
    """The run's per-core capacity (1 / D) and where it came from, when it may be scaled."""
    per_core = _number(facts.per_core_rps)
    demand = _number(facts.service_cpu_s_per_request)
    if per_core is None or per_core <= 0 or demand is None or limit not in CPU_BOUND_LIMITS:
        return None
    on = f" on {facts.cpu_model}" if facts.cpu_model else ""
    return Figure(
        per_core,
        (
            f"{per_core:,.1f} req/s per core = 1 / D, D = {demand * 1000:.3f} ms of service CPU "
            f"per request measured in {run_dir.name}{on} (first limit: {limit})"
        ),
    )


# A stage with fewer requests in its metrics window gives a D too noisy to bound anything.
MIN_STAGE_REQUESTS = 100


def _per_core_spread(summary: Summary) -> tuple[float, float] | None:
    """The least and most requests/s per core over the stages that measured D."""
    rates = [
        1.0 / d
        for row in summary.use or []
        if (d := _number(row.service_cpu_s_per_request))
        and d > 0
        and (row.service_requests or 0) >= MIN_STAGE_REQUESTS
    ]
    return (min(rates), max(rates)) if len(rates) >= 2 else None


def _slo(summary: Summary, run_dir: Path) -> Figure | None:
    p95 = _number(summary.slo.p95_ms) if summary.slo else None
    if p95 is None or p95 <= 0:
        return None
    return Figure(p95, f"the SLO of {run_dir.name}")


def _light_load(summary: Summary, run_dir: Path) -> LightLoad | None:
    """The stage with the least throughput that has one and a p95 (USE rows, else the step
    run's stages, else the whole run)."""
    stages: list[SummaryStage] = list(summary.use or [])
    if not stages and isinstance(summary.saturation, SummarySaturation):
        stages = list(summary.saturation.stages)
    measured = [
        (rps, p95, f"{run_dir.name} stage of {s.users} users" if s.users else run_dir.name)
        for s in stages
        if (rps := _number(s.rps)) and rps > 0 and (p95 := _number(s.p95_ms)) is not None
    ]
    rps, p95 = _number(summary.totals.rps), _number(summary.totals.p95_ms)
    if not measured and rps and rps > 0 and p95 is not None:
        measured = [(rps, p95, f"{run_dir.name} (the whole run)")]
    if not measured:
        return None
    rps, p95, where = min(measured)
    return LightLoad(rps=rps, p95_ms=p95, where=where)


def _number(value: float | None) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


def _mix(endpoints: list[SummaryEndpoint]) -> Mix | None:
    shares = {e.name: e.share for e in endpoints if e.share is not None}
    try:
        return Mix.from_endpoint_shares(shares) if shares else None
    except MixError:
        return None  # a run of other endpoints: plan with the seed's mix instead


def _share(value: float | None) -> float | None:
    ratio = _number(value)
    return ratio if ratio is not None and 0 <= ratio <= 1 else None


def _replica_query_ms(server: SummaryServer | None) -> float | None:
    value = _number(server.replica_query_ms) if server is not None else None
    return value if value is not None and value > 0 else None


# Below this share of queries on replicas, the measured routing contradicts the plan's
# assumption that reads missing the cache go to replicas: say so next to the plan.
LOW_REPLICA_SHARE = 0.5


def _replica_note(server: SummaryServer | None) -> list[str]:
    """Where the run's database queries went, when it had replicas (summary `server`)."""
    if server is None or server.queries is None:
        return []
    queries = {pool: float(n) for pool, n in server.queries.items()}
    on_replicas = sum(n for pool, n in queries.items() if pool.startswith("replica"))
    total = sum(queries.values())
    if on_replicas == 0 and not any(pool.startswith("replica") for pool in queries):
        return []  # no replicas in this run
    share = on_replicas / total if total else 0.0
    read_share = _share(server.replica_read_share)
    if read_share is not None:
        reads = f"replicas served {read_share:.0%} of the run's database reads"
        return [f"{reads}: the replica tier below carries that share of cache-missing reads"]
    if share >= LOW_REPLICA_SHARE:
        return [f"replicas served {share:.0%} of the run's database queries"]
    pinned = (server.replica_fallbacks or {}).get("read_your_writes")
    why = f"; {pinned:,.0f} reads were pinned to the master by read-your-writes" if pinned else ""
    return [
        f"replicas served only {share:.0%} of the run's database queries{why}: the database "
        "tier below assumes cache-missing reads go to replicas, so size the master for them "
        "too, or relax read-your-writes"
    ]
