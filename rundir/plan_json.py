"""`plan.json` and `loadcap plan --json`: a capacity plan, the SPEC contract (docs/capacity.md).

Built by `capacity/report.py` (`plan_document`) from a plan report; written by `loadcap demo`
into its run directory and printed by `loadcap plan --json`. The right-sized plan sits at the
top level (`instances`, `cost`, ...), the seed's beside it under `seed`. Every figure that
was measured, given or assumed has its `*_source` (or `basis`) next to it.
"""

from __future__ import annotations

import msgspec

from rundir.document import document_text

PLAN_FILE = "plan.json"

__all__ = [
    "PLAN_FILE",
    "PlanAutoscale",
    "PlanAvailability",
    "PlanBody",
    "PlanCache",
    "PlanConnections",
    "PlanDatabase",
    "PlanDocument",
    "PlanGrowth",
    "PlanInstanceOption",
    "PlanLineItem",
    "PlanLoadPoint",
    "PlanRanges",
    "PlanRegion",
    "PlanRegions",
    "PlanSeed",
    "PlanSloSizing",
    "PlanTierAvailability",
    "PlanUsl",
    "PlanZones",
    "plan_text",
]


class PlanLineItem(msgspec.Struct, frozen=True, kw_only=True):
    key: str  # ec2, ec2_cpu_credits, rds_master, rds_replicas, elasticache, alb, cloudwatch
    resource: str
    spec: str
    monthly_usd: float
    arithmetic: str  # how monthly_usd is made from the price file


class PlanConnections(msgspec.Struct, frozen=True, kw_only=True):
    node: str
    instance_class: str
    connections: int
    max_connections: int
    busy_connections: float
    warning: str | None


class PlanDatabase(msgspec.Struct, frozen=True, kw_only=True):
    master_class: str
    multi_az_master: bool
    replica_class: str
    replicas: int
    db_read_rps: float
    replica_read_rps: float
    replica_capacity_rps: float
    replica_capacity_basis: str
    replicas_needed: int
    write_rps: float
    connections: list[PlanConnections]


class PlanCache(msgspec.Struct, frozen=True, kw_only=True):
    node_type: str
    profile_keys: int
    list_keys: int
    memory_bytes: int
    usable_bytes: int
    share_of_usable: float


class PlanGrowth(msgspec.Struct, frozen=True, kw_only=True):
    creates_per_s: float
    rows_per_day: float
    row_bytes: float
    row_bytes_source: str
    bytes_per_month: int
    threshold_rows: int
    days_to_threshold: float | None
    months_to_threshold: float | None
    summary: str


class PlanSloSizing(msgspec.Struct, frozen=True, kw_only=True):
    """The app tier sized for a latency objective by a queueing model (SPEC `slo_sizing`)."""

    model: str  # "mmc": M/M/c with Erlang C
    slo_p95_ms: float
    slo_source: str
    instances: int  # bought (with zone-loss headroom or redundancy)
    serving_instances: int  # the fewest that meet the objective at the target
    servers: int  # workers in all: instances x vCPUs
    predicted_p95_ms: float  # waiting plus service plus the floor, every instance up
    predicted_p95_serving_ms: float  # with only the serving instances up
    utilization: float  # CPU share of each server at the target, every instance up
    per_server_rps: float  # mu = 1 / D
    per_server_source: str
    floor_ms: float  # off-CPU latency every request pays
    floor_source: str
    rule_of_thumb_instances: int  # the utilization rule, for comparison
    summary: str


class PlanZones(msgspec.Struct, frozen=True, kw_only=True):
    zones: int
    survive_zone_loss: bool
    instances_per_zone: list[int]
    serving_instances: int
    headroom_instances: int  # bought beyond the serving fleet
    headroom_monthly_usd: float
    summary: str


class PlanTierAvailability(msgspec.Struct, frozen=True, kw_only=True):
    tier: str
    sla: float  # the published monthly uptime commitment, a ratio
    counted: bool  # false for a soft dependency the service survives losing
    source: str
    date: str
    note: str


class PlanAvailability(msgspec.Struct, frozen=True, kw_only=True):
    availability: float  # product of the counted tiers' SLAs (over the regions)
    downtime_minutes_per_month: float
    regions: int  # active-active: 1 - (1 - A)^regions
    seed_target: float  # the seed's 99.9 %
    seed_downtime_minutes_per_month: float
    dominant_tier: str
    tiers: list[PlanTierAvailability]
    summary: str


class PlanRegion(msgspec.Struct, frozen=True, kw_only=True):
    region: str
    role: str  # "primary, writer" | "secondary, promotable replica"
    target_rps: float  # what it carries alone when the others are down
    instances: int
    instance_type: str
    cost: dict[str, float]


class PlanRegions(msgspec.Struct, frozen=True, kw_only=True):
    """Active-active across regions (`--regions A,B`)."""

    share: float
    regions: list[PlanRegion]
    replication: PlanLineItem
    monthly_total_usd: float
    summary: str


class PlanLoadPoint(msgspec.Struct, frozen=True, kw_only=True):
    name: str  # low | mid | high
    target_rps: float
    instances: int
    instances_low: int  # at the most favourable measurement (fastest D, or lambda + 2 se)
    instances_high: int  # at the least favourable one
    monthly_usd: float


class PlanRanges(msgspec.Struct, frozen=True, kw_only=True):
    """`--target-rps LOW:MID:HIGH`: the fleet at each load and the least-regret one."""

    points: list[PlanLoadPoint]
    interval_source: str
    short_cost_factor: float  # an instance short costs this many idle ones (an assumption)
    regrets: dict[str, float]  # worst monthly regret over the loads, by fleet size
    recommended_instances: int
    recommended_worst_regret_usd: float
    summary: str


class PlanUsl(msgspec.Struct, frozen=True, kw_only=True, rename={"lam": "lambda"}):
    sigma: float
    kappa: float
    lam: float
    peak_n: float | None
    peak_throughput: float | None
    std_errors: dict[str, float]
    r_squared: float
    residual_se: float
    points: int
    contention_percent: float
    extrapolated_peak: bool
    warnings: list[str]


class PlanInstanceOption(msgspec.Struct, frozen=True, kw_only=True):
    instance_type: str
    instances: int
    monthly_usd: float
    note: str = ""


class PlanAutoscale(msgspec.Struct, frozen=True, kw_only=True):
    """`--autoscale`: a day of target tracking beside a fleet fixed for the peak."""

    profile: str
    per_instance_rps: float
    utilization: float
    scale_out_cooldown_s: float
    scale_in_cooldown_s: float
    instance_hours_per_day: float
    min_instances: int
    max_instances: int
    monthly_usd: float
    fixed_instances: int
    fixed_instance_hours_per_day: float
    fixed_monthly_usd: float
    overloaded_minutes: int


class PlanBody(msgspec.Struct, frozen=True, kw_only=True):
    """One plan: the right-sized one (top level) or the seed's priced one."""

    instances: int
    instance_type: str
    sizing: str
    cost: dict[str, float]  # monthly_total_usd and one entry per line item key
    line_items: list[PlanLineItem]
    database: PlanDatabase
    cache: PlanCache
    growth: PlanGrowth
    warnings: list[str]
    notes: list[str]


class PlanSeed(msgspec.Struct, frozen=True, kw_only=True):
    as_written: dict[str, float]
    priced: PlanBody
    reconciliation: dict[str, str]
    predicted_p95_ms: float | None = None  # its fleet at the target, by the plan's model
    availability: float | None = None  # as written: one zone, a Single-AZ master
    downtime_minutes_per_month: float | None = None


class PlanDocument(PlanBody, frozen=True, kw_only=True):
    target_rps: float
    mix: dict[str, float]
    cache_hit_ratio: float
    per_instance_rps: float | None
    per_instance_source: str
    usl: PlanUsl | None
    p95_ms: float | None
    utilization: float
    redundancy: int
    region: str
    prices_version: str
    cheapest_instance_type: PlanInstanceOption
    instance_options: list[PlanInstanceOption]
    seed: PlanSeed
    report_notes: list[str]
    lb_imbalance: float = 1.0  # busiest instance's share x instances; the app tier x this
    lb_imbalance_source: str = ""
    slo_sizing: PlanSloSizing | None = None
    zones: int = 1  # Availability Zones the app tier spreads over (SPEC)
    zone_headroom: PlanZones | None = None  # with 2 or more zones
    availability: float | None = None
    downtime_minutes_per_month: float | None = None
    availability_detail: PlanAvailability | None = None
    regions: PlanRegions | None = None
    ranges: PlanRanges | None = None
    autoscale: PlanAutoscale | None = None
    chart: str | None = None


def plan_text(document: PlanDocument) -> str:
    """plan.json as written: two-space indent, a final newline."""
    return document_text(document)
