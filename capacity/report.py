"""A plan report: the right-sized plan beside the seed's, as one value with a JSON form."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from capacity.app_tier import SeedLatency, ZoneHeadroom, seed_latency, zone_headroom
from capacity.availability import (
    MINUTES_PER_MONTH,
    SEED_AVAILABILITY,
    Availability,
    plan_availability,
)
from capacity.cost import CostTable
from capacity.database import DatabaseTier
from capacity.plans import (
    InstanceOption,
    Plan,
    PlanRequest,
    instance_options,
    right_sized_plan,
    seed_plan_priced,
)
from capacity.pricing import PriceBook
from capacity.ranges import TargetRange, plan_range
from capacity.regions import RegionsPlan, plan_regions
from capacity.seed import (
    SEED_INSTANCE_TYPE,
    SEED_INSTANCES,
    SEED_P95_MS,
    Reconciliation,
    reconcile_seed,
    seed_cost_as_written,
)
from capacity.slo_sizing import SloSizing
from rundir.plan_json import (
    PlanAvailability,
    PlanBody,
    PlanCache,
    PlanConnections,
    PlanDatabase,
    PlanDocument,
    PlanGrowth,
    PlanInstanceOption,
    PlanLineItem,
    PlanLoadPoint,
    PlanRanges,
    PlanRegion,
    PlanRegions,
    PlanSeed,
    PlanSloSizing,
    PlanTierAvailability,
    PlanUsl,
    PlanZones,
)


@dataclass(frozen=True, kw_only=True)
class PlanReport:
    request: PlanRequest
    prices_version: str
    right_sized: Plan
    seed_priced: Plan
    seed_as_written: CostTable
    reconciliation: list[Reconciliation]
    options: list[InstanceOption]
    notes: list[str]
    zones: ZoneHeadroom | None  # None for a single-zone plan
    availability: Availability
    regions: RegionsPlan | None
    ranges: TargetRange | None
    seed_latency: SeedLatency | None  # the seed's fleet by the same queueing model
    seed_availability: Availability  # one zone, Single-AZ master: all the seed states

    @property
    def cheapest(self) -> InstanceOption:
        return self.options[0]


def build_report(request: PlanRequest, book: PriceBook, *, notes: list[str]) -> PlanReport:
    right_sized = right_sized_plan(request, book)
    return PlanReport(
        request=request,
        prices_version=book.prices_version,
        right_sized=right_sized,
        zones=zone_headroom(request, right_sized, book),
        availability=plan_availability(
            zones=request.zones,
            multi_az_master=request.database.multi_az_master,
            regions=max(1, len(request.regions)),
        ),
        regions=plan_regions(request, book),
        ranges=plan_range(request, request.target_range, book, request.short_cost_factor),
        seed_priced=seed_plan_priced(request, book),
        seed_latency=seed_latency(
            request,
            book,
            instances=SEED_INSTANCES,
            instance_type=SEED_INSTANCE_TYPE,
            seed_p95=SEED_P95_MS,
        ),
        seed_availability=plan_availability(zones=1, multi_az_master=False),
        seed_as_written=seed_cost_as_written(),
        reconciliation=reconcile_seed(book, request.region),
        options=instance_options(request, book),
        notes=notes,
    )


def plan_body(plan: Plan) -> PlanBody:
    return PlanBody(**_body_fields(plan))


def _body_fields(plan: Plan) -> dict[str, Any]:
    db, cache, growth = plan.database, plan.cache, plan.growth
    return {
        "instances": plan.instances,
        "instance_type": plan.instance_type,
        "sizing": plan.sizing,
        "cost": plan.cost.to_dict(),
        "line_items": [
            PlanLineItem(
                key=i.key,
                resource=i.resource,
                spec=i.spec,
                monthly_usd=round(i.monthly_usd, 2),
                arithmetic=i.arithmetic,
            )
            for i in plan.cost.items
        ],
        "database": _database(db),
        "cache": PlanCache(
            node_type=cache.node_type,
            profile_keys=cache.profile_keys,
            list_keys=cache.list_keys,
            memory_bytes=round(cache.memory_bytes),
            usable_bytes=round(cache.usable_bytes),
            share_of_usable=round(cache.share_of_usable, 4),
        ),
        "growth": PlanGrowth(
            creates_per_s=growth.creates_per_s,
            rows_per_day=growth.rows_per_day,
            row_bytes=growth.row_bytes,
            row_bytes_source=growth.row_bytes_source,
            bytes_per_month=round(growth.bytes_per_month),
            threshold_rows=growth.threshold_rows,
            days_to_threshold=growth.days_to_threshold,
            months_to_threshold=growth.months_to_threshold,
            summary=growth.sentence(),
        ),
        "warnings": plan.warnings,
        "notes": plan.notes,
    }


def _database(db: DatabaseTier) -> PlanDatabase:
    return PlanDatabase(
        master_class=db.master_class,
        multi_az_master=db.multi_az_master,
        replica_class=db.replica_class,
        replicas=db.replicas,
        db_read_rps=round(db.db_read_rps, 2),
        replica_read_rps=round(db.replica_read_rps, 2),
        replica_capacity_rps=round(db.replica_capacity_rps, 2),
        replica_capacity_basis=db.replica_capacity_basis,
        replicas_needed=db.replicas_needed,
        write_rps=round(db.write_rps, 2),
        connections=[
            PlanConnections(
                node=n.node,
                instance_class=n.instance_class,
                connections=n.connections,
                max_connections=n.max_connections,
                busy_connections=round(n.busy_connections, 1),
                warning=n.warning,
            )
            for n in db.connections
        ],
    )


def plan_document(report: PlanReport) -> PlanDocument:
    """`loadcap plan --json` and plan.json: the right-sized plan at the top level, the seed's
    beside it."""
    request, workload = report.request, report.request.workload
    cheapest, per_instance = report.cheapest, request.per_instance_rps
    return PlanDocument(
        **_body_fields(report.right_sized),
        target_rps=workload.target_rps,
        mix=workload.mix.shares(),
        cache_hit_ratio=workload.cache_hit_ratio,
        per_instance_rps=per_instance.value if per_instance else None,
        per_instance_source=per_instance.source if per_instance else "given",
        usl=None if request.fit is None else msgspec.convert(request.fit.to_dict(), PlanUsl),
        p95_ms=request.p95_ms,
        utilization=request.utilization,
        redundancy=request.redundancy,
        region=request.region,
        prices_version=report.prices_version,
        cheapest_instance_type=_option(cheapest),
        instance_options=[_option(o) for o in report.options],
        seed=PlanSeed(
            as_written=report.seed_as_written.to_dict(),
            priced=plan_body(report.seed_priced),
            reconciliation={r.key: r.explanation for r in report.reconciliation},
            predicted_p95_ms=(
                None
                if report.seed_latency is None
                else round(report.seed_latency.predicted_p95_ms, 3)
            ),
            availability=round(report.seed_availability.availability, 8),
            downtime_minutes_per_month=round(
                report.seed_availability.downtime_minutes_per_month, 2
            ),
        ),
        report_notes=report.notes,
        lb_imbalance=request.lb_imbalance.value,
        lb_imbalance_source=request.lb_imbalance.source,
        slo_sizing=slo_sizing_document(report.right_sized.slo),
        zones=request.zones,
        zone_headroom=None if report.zones is None else _zones(report.zones),
        availability=round(report.availability.availability, 8),
        downtime_minutes_per_month=round(report.availability.downtime_minutes_per_month, 2),
        availability_detail=_availability(report.availability),
        regions=None if report.regions is None else _regions(report.regions),
        ranges=None if report.ranges is None else _ranges(report.ranges),
    )


def _ranges(ranges: TargetRange) -> PlanRanges:
    best = ranges.recommended
    return PlanRanges(
        points=[
            PlanLoadPoint(
                name=p.name,
                target_rps=p.target_rps,
                instances=p.instances,
                instances_low=p.interval[0],
                instances_high=p.interval[1],
                monthly_usd=round(p.monthly_usd, 2),
            )
            for p in ranges.points
        ],
        interval_source=ranges.interval_source,
        short_cost_factor=ranges.short_cost_factor,
        regrets={str(r.instances): round(r.worst_usd, 2) for r in ranges.regrets},
        recommended_instances=best.instances,
        recommended_worst_regret_usd=round(best.worst_usd, 2),
        summary=ranges.sentence(),
    )


def _regions(regions: RegionsPlan) -> PlanRegions:
    r = regions.replication
    return PlanRegions(
        share=regions.share,
        regions=[
            PlanRegion(
                region=p.region,
                role=p.role,
                target_rps=p.target_rps,
                instances=p.plan.instances,
                instance_type=p.plan.instance_type,
                cost=p.cost.to_dict(),
            )
            for p in regions.regions
        ],
        replication=PlanLineItem(
            key=r.key,
            resource=r.resource,
            spec=r.spec,
            monthly_usd=round(r.monthly_usd, 2),
            arithmetic=r.arithmetic,
        ),
        monthly_total_usd=round(regions.monthly_total_usd, 2),
        summary=regions.sentence(),
    )


def _availability(availability: Availability) -> PlanAvailability:
    return PlanAvailability(
        availability=round(availability.availability, 8),
        downtime_minutes_per_month=round(availability.downtime_minutes_per_month, 2),
        regions=availability.regions,
        seed_target=SEED_AVAILABILITY,
        seed_downtime_minutes_per_month=round((1 - SEED_AVAILABILITY) * MINUTES_PER_MONTH, 2),
        dominant_tier=availability.dominant.tier,
        tiers=[
            PlanTierAvailability(
                tier=t.tier,
                sla=t.sla.sla,
                counted=t.counted,
                source=t.sla.source,
                date=t.sla.date,
                note=t.note,
            )
            for t in availability.tiers
        ],
        summary=availability.sentence(),
    )


def _zones(zones: ZoneHeadroom) -> PlanZones:
    return PlanZones(
        zones=zones.zones,
        survive_zone_loss=zones.survive_zone_loss,
        instances_per_zone=zones.instances_per_zone,
        serving_instances=zones.serving_instances,
        headroom_instances=zones.headroom_instances,
        headroom_monthly_usd=round(zones.headroom_monthly_usd, 2),
        summary=zones.sentence(),
    )


def _option(option: InstanceOption) -> PlanInstanceOption:
    return PlanInstanceOption(
        instance_type=option.instance_type,
        instances=option.instances,
        monthly_usd=round(option.monthly_usd, 2),
        note=option.note,
    )


def slo_sizing_document(slo: SloSizing | None) -> PlanSloSizing | None:
    if slo is None:
        return None
    return PlanSloSizing(
        model=slo.model,
        slo_p95_ms=slo.objective.p95_ms.value,
        slo_source=slo.objective.p95_ms.source,
        instances=slo.instances,
        serving_instances=slo.serving_instances,
        servers=slo.servers,
        predicted_p95_ms=round(slo.predicted_p95_ms, 3),
        predicted_p95_serving_ms=round(slo.predicted_p95_serving_ms, 3),
        utilization=round(slo.utilization, 4),
        per_server_rps=slo.rate.per_server_rps.value,
        per_server_source=slo.rate.per_server_rps.source,
        floor_ms=round(slo.objective.floor_ms.value, 3),
        floor_source=slo.objective.floor_ms.source,
        rule_of_thumb_instances=slo.rule_of_thumb_instances,
        summary=slo.sentence(),
    )
