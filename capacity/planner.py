"""From command-line values to a plan report: resolve where each number comes from (flag,
run directory, fit CSV, database) and say so in the report's notes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from capacity.cache_tier import CacheAssumptions
from capacity.database import DatabaseAssumptions, replica_capacity
from capacity.errors import CapacityInputError
from capacity.growth import measure_sqlite_row_bytes
from capacity.plans import PlanRequest
from capacity.pricing import PriceBook
from capacity.report import PlanReport, build_report
from capacity.runs import read_measured_run
from capacity.scaleout_plan import scaleout_evidence
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
    target_rps: float = 1000.0
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


def make_plan_report(options: PlanOptions, book: PriceBook) -> PlanReport:
    request, notes = make_plan_request(options, book)
    return build_report(request, book, notes=notes)


def make_plan_request(options: PlanOptions, book: PriceBook) -> tuple[PlanRequest, list[str]]:
    o = options
    book.ec2(o.region, o.instance_type)  # unknown type or region: fail before any work
    given = [o.per_instance_rps is not None, o.per_core_rps is not None, o.run_dir is not None]
    if sum(given) > 1:
        raise CapacityInputError(
            "give one of --per-instance-rps, --per-core-rps and --from RUN_DIR"
        )
    notes: list[str] = []
    mix, hit_ratio, p95 = SEED_MIX, SEED_CACHE_HIT_RATIO, None
    replica_share, replica_query_ms = 1.0, None
    per_instance, source = o.per_instance_rps, "given with --per-instance-rps"
    per_core, core_source = o.per_core_rps, "given with --per-core-rps"
    if o.run_dir is not None:
        run = read_measured_run(o.run_dir)
        per_instance, source, p95 = run.per_instance_rps, run.source, run.p95_ms
        per_core, core_source = run.per_core_rps, run.demand_source
        notes += run.notes
        if per_core is not None:
            notes.append(
                "instances sized from service demand (Utilization Law), not from the "
                f"throughput observed: {core_source}; D holds for that CPU, so measure again "
                "on the instance family you buy (Graviton and x86 differ)"
            )
        if run.mix is not None:
            mix = run.mix
            notes.append(f"mix observed in the run: {mix.label()}")
        if run.cache_hit_ratio is not None:
            hit_ratio = run.cache_hit_ratio
            notes.append(f"cache hit ratio observed in the run: {hit_ratio:.1%}")
        if run.replica_read_share is not None:
            replica_share = run.replica_read_share
        replica_query_ms = run.replica_query_ms
    if o.cache_hit_ratio is not None:
        hit_ratio = o.cache_hit_ratio
    fit = _fit(o.fit_csv, notes, target_rps=o.target_rps, pool_size=o.pool_size)
    if per_instance is None and fit is not None:
        per_instance, source = fit.lam, f"lambda of the USL fit ({o.fit_csv})"
    row_bytes, row_source, profiles = _row_bytes(o, notes)
    request = PlanRequest(
        workload=Workload(target_rps=o.target_rps, mix=mix, cache_hit_ratio=hit_ratio),
        per_instance_rps=per_instance,
        per_instance_source=source,
        per_core_rps=per_core,
        per_core_source=core_source,
        fit=fit,
        utilization=o.utilization,
        redundancy=o.redundancy,
        instance_type=o.instance_type,
        region=o.region,
        database=DatabaseAssumptions(
            pool_size=o.pool_size,
            replica_rps=o.replica_rps,
            multi_az_master=o.multi_az,
            replica_read_share=replica_share,
            replica_query_ms=replica_query_ms,
        ),
        cache=CacheAssumptions(row_bytes=row_bytes, profiles=profiles),
        row_bytes_source=row_source,
        current_profiles=profiles or 0,
        p95_ms=p95,
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


def _fit(
    fit_csv: Path | None, notes: list[str], *, target_rps: float, pool_size: int
) -> UslFit | None:
    if fit_csv is None:
        return None
    evidence = scaleout_evidence(fit_csv, target_rps=target_rps, pool_size=pool_size)
    if evidence is not None:  # `loadcap scaleout`'s CSV: its document says more
        notes.extend(evidence.notes)
        notes.extend(f"USL fit warning: {warning}" for warning in evidence.fit.warnings)
        return evidence.fit
    data = read_measurements(fit_csv)
    fit = fit_usl(data.n, data.throughput)
    notes.append(
        f"USL fit over {data.n_name} from {fit_csv.name}: N = app instances "
        f"(sigma {fit.sigma:.4g}, kappa {fit.kappa:.3g}, lambda {fit.lam:,.1f})"
    )
    notes.extend(f"USL fit warning: {warning}" for warning in fit.warnings)
    return fit


def _row_bytes(o: PlanOptions, notes: list[str]) -> tuple[float, str, int | None]:
    profiles = o.profiles
    if o.sqlite_db is not None and o.row_bytes is None:
        measured, rows = measure_sqlite_row_bytes(o.sqlite_db)
        notes.append(f"row size measured in {o.sqlite_db}: {measured:,.0f} B over {rows:,} rows")
        return measured, f"measured in {o.sqlite_db.name}", profiles if profiles else rows
    if o.row_bytes is not None:
        return o.row_bytes, "given", profiles
    return 400.0, "assumed; pass --row-bytes or --sqlite-db to measure", profiles
