"""Active-active across regions (`--regions A,B`): each region sized for its share of the load
when the others are down, one writer, a promotable read replica in every other region, and
the replication traffic between them priced.

The first region named is the primary: it keeps the RDS master (writes from every region go
there). Each other region gets a cross-region read replica of the master's class, priced as
a Single-AZ instance, that can be promoted if the primary region is lost, plus its own app
fleet, read replicas, cache, ALB and CloudWatch. Replication sends every write's row to each
other region: creates/s and patches/s x row bytes, priced at the primary's inter-region
transfer rate. A region without sourced prices is refused by name (`PriceBook.region`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from capacity.cost import GB, SECONDS_PER_MONTH, CostTable, LineItem
from capacity.errors import CapacityInputError
from capacity.pricing import PriceBook

if TYPE_CHECKING:
    from capacity.plans import Plan, PlanRequest

MAX_REGIONS = 4


@dataclass(frozen=True, kw_only=True)
class RegionPlan:
    region: str
    role: str
    target_rps: float
    plan: Plan
    cost: CostTable  # the plan's, with a secondary's master swapped for its promotable replica


@dataclass(frozen=True, kw_only=True)
class RegionsPlan:
    regions: list[RegionPlan]
    share: float  # of the whole load each region carries alone
    replication: LineItem

    @property
    def monthly_total_usd(self) -> float:
        regions = sum(r.cost.monthly_total_usd for r in self.regions)
        return regions + self.replication.monthly_usd

    def sentence(self) -> str:
        each = "; ".join(
            f"{r.region} ({r.role}): {r.plan.instances} x {r.plan.instance_type} for "
            f"{r.target_rps:,.0f} req/s, ${r.cost.monthly_total_usd:,.2f}/month"
            for r in self.regions
        )
        return (
            f"{len(self.regions)} regions active-active, each sized for {self.share:.0%} of the "
            f"load with the others down: {each}; replication {self.replication.spec}, "
            f"${self.replication.monthly_usd:,.2f}/month; total "
            f"${self.monthly_total_usd:,.2f}/month. Writes go to the primary's master from "
            "every region (add the inter-region round trip to their latency) until a replica "
            "is promoted"
        )


def check_regions(regions: tuple[str, ...], share: float, book: PriceBook) -> None:
    if len(regions) < 2 or len(set(regions)) != len(regions) or len(regions) > MAX_REGIONS:
        raise CapacityInputError(
            f"--regions takes 2 to {MAX_REGIONS} different regions, got {','.join(regions)}"
        )
    if not 0 < share <= 1:
        raise CapacityInputError(f"--region-share must be in (0, 1], got {share}")
    for region in regions:
        book.region(region)  # a region without sourced prices is refused by name
    if book.region(regions[0]).inter_region_transfer is None:
        raise CapacityInputError(
            f"{regions[0]} has no sourced inter-region transfer price: it cannot be the "
            "primary of --regions"
        )


def plan_regions(request: PlanRequest, book: PriceBook) -> RegionsPlan | None:
    from capacity.plans import right_sized_plan  # plans builds reports that hold this plan

    if not request.regions:
        return None
    check_regions(request.regions, request.region_share, book)
    target = request.workload.target_rps * request.region_share
    workload = replace(request.workload, target_rps=target)
    plans = []
    for index, region in enumerate(request.regions):
        plan = right_sized_plan(replace(request, region=region, workload=workload), book)
        primary = index == 0
        plans.append(
            RegionPlan(
                region=region,
                role="primary, writer" if primary else "secondary, promotable replica",
                target_rps=target,
                plan=plan,
                cost=plan.cost if primary else _secondary_cost(plan, request, book, region),
            )
        )
    return RegionsPlan(
        regions=plans,
        share=request.region_share,
        replication=_replication(request, book),
    )


def _secondary_cost(plan: Plan, request: PlanRequest, book: PriceBook, region: str) -> CostTable:
    master_class = request.database.master_class
    hourly = book.rds(region, master_class).hourly_usd
    replica = LineItem(
        key="rds_master",
        resource="RDS cross-region read replica (promotable)",
        spec=f"{master_class} Single-AZ, replicating from {request.regions[0]}",
        monthly_usd=book.monthly(hourly),
        arithmetic=f"${hourly}/h x {book.hours_per_month} h",
    )
    items = [replica if i.key == "rds_master" else i for i in plan.cost.items]
    return CostTable(items=items)


def _replication(request: PlanRequest, book: PriceBook) -> LineItem:
    primary = request.regions[0]
    transfer = book.region(primary).inter_region_transfer
    assert transfer is not None  # check_regions refuses a primary without one
    shares = request.workload.mix.shares()
    writes = request.workload.target_rps * (shares["create"] + shares["patch"])
    row_bytes = request.cache.row_bytes.value
    gb = writes * row_bytes * SECONDS_PER_MONTH / GB * (len(request.regions) - 1)
    return LineItem(
        key="inter_region_replication",
        resource="Inter-region replication",
        spec=f"{gb:,.1f} GB/month from {primary} ({writes:,.0f} writes/s x {row_bytes:,.0f} B)",
        monthly_usd=gb * transfer.usd_per_gb,
        arithmetic=f"{gb:,.1f} GB x ${transfer.usd_per_gb}/GB ({transfer.source})",
    )
