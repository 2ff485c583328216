"""Capacity plans: the seed's fleet priced from the price book, the right-sized fleet from
measurements, and the cheapest instance type that carries the target.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from capacity.app_tier import app_sizing, per_instance_rps
from capacity.cache_tier import CacheAssumptions, CacheTier, size_cache
from capacity.cost import CostTable, EdgeAssumptions, Fleet, cpu_credit_item, price_fleet
from capacity.database import DatabaseAssumptions, DatabaseTier, size_database
from capacity.errors import CapacityInputError
from capacity.figures import Figure
from capacity.growth import DataGrowth, project_growth
from capacity.imbalance import check_imbalance, random_placement_note
from capacity.pricing import PriceBook
from capacity.seed import (
    SEED_CACHE_NODE,
    SEED_INSTANCE_TYPE,
    SEED_INSTANCES,
    SEED_MASTER_CLASS,
    SEED_PER_INSTANCE_RPS,
    SEED_POOL_SIZE,
    SEED_REPLICA_CLASS,
    SEED_REPLICAS,
)
from capacity.sizing import check_positive, check_redundancy, check_utilization
from capacity.slo_sizing import LatencyObjective, SloSizing
from capacity.usl import UslFit
from capacity.workload import Workload

EVEN_BALANCE = Figure(1.0, "assumed: every instance gets the same share")
MAX_ZONES = 6  # no AWS region has more Availability Zones than this for general use


@dataclass(frozen=True, kw_only=True)
class PlanRequest:
    """Everything a plan depends on; built by the CLI from flags and a run directory."""

    workload: Workload
    per_instance_rps: Figure | None = None
    # 1 / D from a run (Utilization Law): an instance with v vCPUs, one worker per vCPU,
    # carries per_core_rps x v at 100 % CPU. Preferred over per_instance_rps when given.
    per_core_rps: Figure | None = None
    fit: UslFit | None = None
    utilization: float = 0.7
    redundancy: int = 1
    instance_type: str = "t3.medium"
    region: str = "us-east-1"
    database: DatabaseAssumptions = field(default_factory=DatabaseAssumptions)
    cache: CacheAssumptions = field(default_factory=CacheAssumptions)
    edge: EdgeAssumptions = field(default_factory=EdgeAssumptions)
    current_profiles: int = 0
    p95_ms: float | None = None  # from the run, shown beside the throughput it was met at
    latency: LatencyObjective | None = None  # size by queueing for this p95 when given
    zones: int = 1
    survive_zone_loss: bool = True  # with zones >= 2: one zone's instances may be lost
    regions: tuple[str, ...] = ()  # active-active, the first the primary (== region)
    region_share: float = 1.0  # of the load each region carries when the others are down
    per_core_spread: tuple[float, float] | None = None  # 1 / D at the run's slowest, fastest
    target_range: tuple[float, ...] = ()  # low, mid, high (--target-rps LOW:MID:HIGH)
    short_cost_factor: float = 3.0  # an instance short costs this many idle ones (ranges)
    lb_imbalance: Figure = EVEN_BALANCE  # busiest instance's share x instances

    def __post_init__(self) -> None:
        check_utilization(self.utilization)
        check_redundancy(self.redundancy)
        if self.per_instance_rps is None and self.fit is None and self.per_core_rps is None:
            raise CapacityInputError(
                "give --per-instance-rps, --per-core-rps, --from RUN_DIR or --fit CSV"
            )
        if self.per_core_rps is not None:
            check_positive("--per-core-rps", self.per_core_rps.value)
        if not 1 <= self.zones <= MAX_ZONES:
            raise CapacityInputError(f"--zones must be 1 to {MAX_ZONES}, got {self.zones}")
        if self.latency is not None:
            check_positive("--slo-p95-ms", self.latency.p95_ms.value)
        check_imbalance(self.lb_imbalance.value)


@dataclass(frozen=True, kw_only=True)
class Plan:
    name: str
    instances: int
    serving_instances: int  # needed with everything up: the rest is zone headroom or spares
    instance_type: str
    sizing: str  # how the instance count was reached, in one line
    slo: SloSizing | None  # the queueing model's fleet, when a latency objective is known
    database: DatabaseTier
    cache: CacheTier
    cost: CostTable
    growth: DataGrowth
    warnings: list[str]
    notes: list[str]


def right_sized_plan(request: PlanRequest, book: PriceBook) -> Plan:
    """Instances from measured per-instance throughput (or the USL fit), tiers sized to match."""
    app = app_sizing(request, request.instance_type, book)
    instances, sizing = app.instances, app.sizing
    cpu_share = implied_cpu_share(request, request.instance_type, instances, book)
    notes = [f"per-instance throughput: {sizing}"]
    if app.slo is not None:
        notes.append(f"the {request.utilization:.0%} rule, for comparison: {app.rule}")
    if request.lb_imbalance.value == 1:
        per_instance = per_instance_rps(request, request.instance_type, book).value
        placement = random_placement_note(
            request.workload.target_rps, per_instance * request.utilization, app.serving
        )
        notes += [placement] if placement else []
    if cpu_share is not None:
        notes.append(
            f"CPU credits from service demand: {request.workload.target_rps:,.0f} req/s over "
            f"{instances} instances keeps each at {cpu_share:.0%} CPU"
        )
    else:
        notes.append(
            f"CPU credits assume the measured throughput is 100% CPU, so instances run at "
            f"{request.utilization:.0%} (no service demand measured)"
        )
    return _assemble(
        "right-sized",
        request,
        book,
        instances=instances,
        serving_instances=app.serving,
        slo=app.slo,
        instance_type=request.instance_type,
        database=request.database,
        replicas=None,
        cpu_utilization=cpu_share if cpu_share is not None else request.utilization,
        sizing=sizing,
        notes=notes,
    )


def seed_plan_priced(request: PlanRequest, book: PriceBook) -> Plan:
    """The seed's own fleet (its assumptions, not ours) priced from the price book."""
    seed_db = replace(
        request.database,
        master_class=SEED_MASTER_CLASS,
        replica_class=SEED_REPLICA_CLASS,
        pool_size=SEED_POOL_SIZE,
    )
    seed_request = replace(request, cache=replace(request.cache, node_type=SEED_CACHE_NODE))
    sizing = (
        f"seed: {request.workload.target_rps:,.0f} req/s / {SEED_PER_INSTANCE_RPS:g} req/s per "
        f"instance = {SEED_INSTANCES} x {SEED_INSTANCE_TYPE}, no headroom, no redundancy"
    )
    notes = ["no CPU-credit line: the seed does not say how busy its instances run"]
    return _assemble(
        "seed (priced)",
        seed_request,
        book,
        instances=SEED_INSTANCES,
        serving_instances=SEED_INSTANCES,
        slo=None,
        instance_type=SEED_INSTANCE_TYPE,
        database=seed_db,
        replicas=SEED_REPLICAS,
        cpu_utilization=None,
        sizing=sizing,
        notes=notes,
    )


def _assemble(
    name: str,
    request: PlanRequest,
    book: PriceBook,
    *,
    instances: int,
    serving_instances: int,
    slo: SloSizing | None,
    instance_type: str,
    database: DatabaseAssumptions,
    replicas: int | None,
    cpu_utilization: float | None,
    sizing: str,
    notes: list[str],
) -> Plan:
    region, workload = request.region, request.workload
    db_tier = size_database(
        workload,
        app_instances=instances,
        utilization=request.utilization,
        book=book,
        region=region,
        assumptions=database,
        replicas=replicas,
    )
    cache_tier = size_cache(workload, book=book, region=region, assumptions=request.cache)
    fleet = Fleet(
        instances=instances,
        instance_type=instance_type,
        master_class=database.master_class,
        multi_az_master=database.multi_az_master,
        replicas=db_tier.replicas,
        replica_class=database.replica_class,
        cache_node_type=request.cache.node_type,
        cpu_utilization=cpu_utilization,
    )
    cost = price_fleet(
        fleet,
        workload,
        book=book,
        region=region,
        edge=request.edge,
        row_bytes=request.cache.row_bytes.value,
        page_size=request.cache.page_size,
    )
    growth = project_growth(
        workload,
        row_bytes=request.cache.row_bytes.value,
        row_bytes_source=request.cache.row_bytes.source,
        current_rows=request.current_profiles,
    )
    warnings = list(db_tier.warnings)
    if cache_tier.warning:
        warnings.append(cache_tier.warning)
    return Plan(
        name=name,
        instances=instances,
        serving_instances=serving_instances,
        instance_type=instance_type,
        sizing=sizing,
        slo=slo,
        database=db_tier,
        cache=cache_tier,
        cost=cost,
        growth=growth,
        warnings=warnings,
        notes=notes,
    )


@dataclass(frozen=True, kw_only=True)
class InstanceOption:
    instance_type: str
    instances: int
    monthly_usd: float  # instances plus CPU credits where the type is burstable
    note: str


def instance_options(request: PlanRequest, book: PriceBook) -> list[InstanceOption]:
    """Every EC2 type in the price book for this target, cheapest first."""
    options = []
    for instance_type, price in book.region(request.region).ec2.items():
        try:
            instances = app_sizing(request, instance_type, book).instances
        except CapacityInputError:
            continue  # this type cannot meet the objective: it is no option
        monthly = instances * book.monthly(price.hourly_usd)
        note = f"{price.vcpu} vCPU, {price.memory_gib:g} GiB, {price.arch}"
        share = implied_cpu_share(request, instance_type, instances, book)
        credits = cpu_credit_item(
            instances=instances,
            instance_type=instance_type,
            cpu_utilization=share if share is not None else request.utilization,
            book=book,
            region=request.region,
        )
        if credits is not None:
            monthly += credits.monthly_usd
            note += f"; incl. ${credits.monthly_usd:,.0f} CPU credits ({credits.spec})"
        options.append(
            InstanceOption(
                instance_type=instance_type, instances=instances, monthly_usd=monthly, note=note
            )
        )
    return sorted(options, key=lambda o: o.monthly_usd)


def implied_cpu_share(
    request: PlanRequest, instance_type: str, instances: int, book: PriceBook
) -> float | None:
    """The CPU share each instance runs at when the target load spreads over all of them,
    from the service demand (None without one: then only the target utilization is known)."""
    if request.per_core_rps is None or request.fit is not None or instances <= 0:
        return None
    vcpu = book.ec2(request.region, instance_type).vcpu
    per_core = request.per_core_rps.value
    return min(1.0, request.workload.target_rps / (instances * per_core * vcpu))
