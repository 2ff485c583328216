"""From command-line values to a plan report: resolve where each number comes from (flag,
run directory, fit CSV, database) and say so in the report's notes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

from capacity.cache_tier import ASSUMED_ROW_BYTES, CacheAssumptions
from capacity.database import DatabaseAssumptions, replica_capacity
from capacity.errors import CapacityInputError
from capacity.figures import Figure
from capacity.growth import measure_sqlite_row_bytes
from capacity.plans import EVEN_BALANCE, PlanRequest
from capacity.pricing import PriceBook
from capacity.regions import check_regions
from capacity.report import PlanReport, build_report
from capacity.runs import LightLoad, MeasuredRun, read_measured_run
from capacity.scaleout_plan import scaleout_evidence
from capacity.sizing import DEFAULT_TARGET_RPS
from capacity.slo_sizing import P95, LatencyObjective
from capacity.usl import UslFit, fit_usl
from capacity.usl_csv import read_measurements
from capacity.workload import SEED_CACHE_HIT_RATIO, SEED_MIX, Workload


@dataclass(frozen=True, kw_only=True)
class PlanOptions:
    """The `loadcap plan` flags, unvalidated."""

    per_instance_rps: float | None = None
    per_core_rps: float | None = None
    run_dir: Path | None = None
    fit_csv: Path | None = None
    target_rps: float = DEFAULT_TARGET_RPS
    utilization: float = 0.7
    redundancy: int = 1
    instance_type: str = "t3.medium"
    region: str = "us-east-1"
    cache_hit_ratio: float | None = None
    pool_size: int = 10
    replica_rps: float = 500.0
    multi_az: bool = True
    row_bytes: float | None = None
    sqlite_db: Path | None = None
    profiles: int | None = None
    slo_p95_ms: float | None = None  # size by queueing for this p95 (default: the run's SLO)
    zones: int = 1
    survive_zone_loss: bool = True
    regions: tuple[str, ...] = ()  # active-active; the first is the primary
    region_share: float = 1.0
    target_range: tuple[float, ...] = ()  # low, mid, high; target_rps is then the mid
    short_cost_factor: float = 3.0
    lb_imbalance: float | None = None  # busiest instance's share x instances, measured


def make_plan_report(options: PlanOptions, book: PriceBook) -> PlanReport:
    request, notes = make_plan_request(options, book)
    return build_report(request, book, notes=notes)


def make_plan_request(options: PlanOptions, book: PriceBook) -> tuple[PlanRequest, list[str]]:
    o = _checked(options, book)
    notes: list[str] = []
    run = None if o.run_dir is None else _read_run(o.run_dir, notes)
    per_instance = run.per_instance_rps if run else _given(o.per_instance_rps, "--per-instance-rps")
    per_core = run.per_core_rps if run else _given(o.per_core_rps, "--per-core-rps")
    slo = _given(o.slo_p95_ms, "--slo-p95-ms") or (run.slo_p95_ms if run else None)
    hit_ratio = SEED_CACHE_HIT_RATIO
    if run and run.cache_hit_ratio is not None:
        hit_ratio = run.cache_hit_ratio
    if o.cache_hit_ratio is not None:
        hit_ratio = o.cache_hit_ratio
    replica_query_ms = run.replica_query_ms if run else None
    vcpu = book.ec2(o.region, o.instance_type).vcpu
    fit = _fit(o.fit_csv, notes, target_rps=o.target_rps, pool_size=o.pool_size, vcpu=vcpu)
    if per_instance is None and fit is not None:
        per_instance = Figure(fit.lam, f"lambda of the USL fit ({o.fit_csv})")
    row_bytes, profiles = _row_bytes(o, notes)
    mix = run.mix if run and run.mix else SEED_MIX
    request = PlanRequest(
        workload=Workload(target_rps=o.target_rps, mix=mix, cache_hit_ratio=hit_ratio),
        per_instance_rps=per_instance,
        per_core_rps=per_core,
        fit=fit,
        utilization=o.utilization,
        redundancy=o.redundancy,
        instance_type=o.instance_type,
        region=o.region,
        database=DatabaseAssumptions(
            pool_size=o.pool_size,
            replica_rps=o.replica_rps,
            multi_az_master=o.multi_az,
            replica_read_share=(
                run.replica_read_share if run and run.replica_read_share is not None else 1.0
            ),
            replica_query_ms=replica_query_ms,
        ),
        cache=CacheAssumptions(row_bytes=row_bytes, profiles=profiles),
        current_profiles=profiles or 0,
        p95_ms=run.p95_ms if run else None,
        latency=(
            None
            if slo is None
            else latency_objective(
                slo,
                run.light_load if run else None,
                per_core,
                notes,
                required=o.slo_p95_ms is not None,
            )
        ),
        zones=o.zones,
        survive_zone_loss=o.survive_zone_loss,
        regions=o.regions,
        region_share=o.region_share,
        per_core_spread=run.per_core_spread if run else None,
        target_range=o.target_range,
        short_cost_factor=o.short_cost_factor,
        lb_imbalance=_given(o.lb_imbalance, "--lb-imbalance") or EVEN_BALANCE,
    )
    if replica_query_ms is None:
        notes.append(
            f"replica capacity {o.replica_rps:,.0f} cache-missing reads/s each is an assumption: "
            "measure it with a run against a replica and pass --replica-rps"
        )
    else:
        capacity, basis = replica_capacity(request.database, book, o.region)
        notes.append(
            f"replica capacity {capacity:,.0f} queries/s each ({basis} in the run; "
            "--replica-rps is not used). A query time measured on a busy machine includes its "
            "queueing and overstates the replicas needed"
        )
    return request, notes


def _per_plan_instance(fit: UslFit, cores: float, vcpu: int, notes: list[str]) -> UslFit:
    """A fit measured on instances capped at `cores` describes instances of that size: its
    lambda is one such instance's throughput. The plan's instances have `vcpu` cores, so
    lambda scales by vcpu / cores (the Utilization Law within one instance); sigma and kappa
    are kept, though they were measured at the fleet's small N with small instances."""
    scale = vcpu / cores
    notes.append(
        f"USL fit: lambda {fit.lam:,.1f} req/s is one instance capped at {cores:g} core; "
        f"x {scale:g} for the plan's {vcpu} vCPU = {fit.lam * scale:,.1f} req/s per instance "
        "(sigma and kappa kept as measured; the shared tiers' bounds above are absolute)"
    )
    # Covariance rows and columns (sigma, kappa, lambda): lambda's scale once per lambda.
    factors = (1.0, 1.0, scale)
    covariance = (
        None
        if fit.covariance is None
        else tuple(
            tuple(value * factors[i] * factors[j] for j, value in enumerate(row))
            for i, row in enumerate(fit.covariance)
        )
    )
    return replace(
        fit,
        lam=fit.lam * scale,
        lambda_se=fit.lambda_se * scale,
        covariance=covariance,  # type: ignore[arg-type]
    )


def _fit(
    fit_csv: Path | None, notes: list[str], *, target_rps: float, pool_size: int, vcpu: int
) -> UslFit | None:
    if fit_csv is None:
        return None
    evidence = scaleout_evidence(fit_csv, target_rps=target_rps, pool_size=pool_size)
    if evidence is not None:  # `loadcap scaleout`'s CSV: its document says more
        notes.extend(evidence.notes)
        notes.extend(f"USL fit warning: {warning}" for warning in evidence.fit.warnings)
        if evidence.instance_cores:
            return _per_plan_instance(evidence.fit, evidence.instance_cores, vcpu, notes)
        return evidence.fit
    data = read_measurements(fit_csv)
    fit = fit_usl(data.n, data.throughput)
    if (left_out := data.left_out_note(fit_csv.name)) is not None:
        notes.append(left_out)
    notes.append(
        f"USL fit over {data.n_name} from {fit_csv.name}: N = app instances "
        f"(sigma {fit.sigma:.4g}, kappa {fit.kappa:.3g}, lambda {fit.lam:,.1f})"
    )
    notes.extend(f"USL fit warning: {warning}" for warning in fit.warnings)
    return fit


def _checked(options: PlanOptions, book: PriceBook) -> PlanOptions:
    """The options with the primary region resolved; what no plan can use refused first."""
    o = options
    if o.regions:
        check_regions(o.regions, o.region_share, book)
        o = replace(o, region=o.regions[0])
    book.ec2(o.region, o.instance_type)  # unknown type or region: fail before any work
    given = [o.per_instance_rps is not None, o.per_core_rps is not None, o.run_dir is not None]
    if sum(given) > 1:
        raise CapacityInputError(
            "give one of --per-instance-rps, --per-core-rps and --from RUN_DIR"
        )
    return o


def _read_run(run_dir: Path, notes: list[str]) -> MeasuredRun:
    """The run directory's figures, saying in `notes` which of them the plan takes."""
    run = read_measured_run(run_dir)
    notes += run.notes
    if run.per_core_rps is not None:
        notes.append(
            "instances sized from service demand (Utilization Law), not from the "
            f"throughput observed: {run.per_core_rps.source}; D holds for that CPU, so "
            "measure again on the instance family you buy (Graviton and x86 differ)"
        )
    if run.mix is not None:
        notes.append(f"mix observed in the run: {run.mix.label()}")
    if run.cache_hit_ratio is not None:
        notes.append(f"cache hit ratio observed in the run: {run.cache_hit_ratio:.1%}")
    return run


def latency_objective(
    p95_ms: Figure,
    light: LightLoad | None,
    per_core: Figure | None,
    notes: list[str],
    *,
    required: bool = True,
) -> LatencyObjective:
    """The objective and its off-CPU floor: the lightest stage's p95 less the p95 of a CPU
    service time alone (ln 20 x D), so the model matches the run where nothing queues."""
    if light is None:
        notes.append(
            "no lightly loaded stage measured: the latency prediction counts CPU time only "
            "(no database, cache or network time); give --from RUN_DIR to calibrate it"
        )
        return LatencyObjective(
            p95_ms=p95_ms, floor_ms=Figure(0.0, "not measured"), required=required
        )
    if per_core is None:
        floor = Figure(
            light.p95_ms,
            f"p95 {light.p95_ms:,.1f} ms at {light.rps:,.1f} req/s in {light.where}, "
            "all of it (no service demand measured)",
        )
        return LatencyObjective(p95_ms=p95_ms, floor_ms=floor, required=required)
    alone_ms = math.log(1 / (1 - P95)) / per_core.value * 1000.0
    floor = Figure(
        max(0.0, light.p95_ms - alone_ms),
        f"p95 {light.p95_ms:,.1f} ms at {light.rps:,.1f} req/s in {light.where} less "
        f"{alone_ms:,.2f} ms of CPU service (ln 20 x D)",
    )
    return LatencyObjective(p95_ms=p95_ms, floor_ms=floor, required=required)


def _given(value: float | None, flag: str) -> Figure | None:
    return None if value is None else Figure(value, f"given with {flag}")


def _row_bytes(o: PlanOptions, notes: list[str]) -> tuple[Figure, int | None]:
    profiles = o.profiles
    if o.sqlite_db is not None and o.row_bytes is None:
        measured, rows = measure_sqlite_row_bytes(o.sqlite_db)
        notes.append(f"row size measured in {o.sqlite_db}: {measured:,.0f} B over {rows:,} rows")
        return Figure(measured, f"measured in {o.sqlite_db.name}"), profiles if profiles else rows
    if o.row_bytes is not None:
        return Figure(o.row_bytes, "given"), profiles
    return ASSUMED_ROW_BYTES, profiles
