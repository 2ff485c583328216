"""How many app instances of one type a plan buys, and how that count was reached.

Two ways: the utilization rule (target / (per-instance x utilization), or the USL's X(N) at
that utilization) and, when a latency objective is known, the queueing model
(`capacity/slo_sizing.py`), with the rule's count shown beside it. Either way the fleet is
placed over the zones asked for.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from capacity.errors import CapacityInputError
from capacity.figures import Figure
from capacity.pricing import PriceBook
from capacity.sizing import linear_instances, usl_instances
from capacity.slo_sizing import (
    ServerRate,
    SloSizing,
    ZonePlacement,
    predicted_p95_ms,
    size_for_latency,
)

if TYPE_CHECKING:
    from capacity.plans import Plan, PlanRequest


@dataclass(frozen=True, kw_only=True)
class AppSizing:
    instances: int  # bought
    serving: int  # needed with everything up (without zone headroom or redundancy)
    sizing: str  # how, in one line
    slo: SloSizing | None  # the queueing model's answer, when an objective is known
    rule: str  # the utilization rule's arithmetic (the sizing itself without an objective)


@dataclass(frozen=True, kw_only=True)
class ZoneHeadroom:
    """The fleet over its zones, and what the instances beyond the serving fleet cost."""

    zones: int
    survive_zone_loss: bool
    instances_per_zone: list[int]
    serving_instances: int
    headroom_instances: int
    headroom_monthly_usd: float
    instance_type: str

    def sentence(self) -> str:
        spread = " + ".join(str(n) for n in self.instances_per_zone)
        why = (
            "so the fleet meets the objective with one zone lost"
            if self.survive_zone_loss
            else "zone loss not planned for (--no-survive-zone-loss)"
        )
        return (
            f"{self.zones} zones ({spread} x {self.instance_type}), {why}: "
            f"{self.headroom_instances} instances beyond the {self.serving_instances} serving, "
            f"${self.headroom_monthly_usd:,.2f}/month of headroom"
        )


def zone_headroom(request: PlanRequest, plan: Plan, book: PriceBook) -> ZoneHeadroom | None:
    if request.zones < 2:
        return None
    hourly = book.ec2(request.region, plan.instance_type).hourly_usd
    extra = plan.instances - plan.serving_instances
    base, rest = divmod(plan.instances, request.zones)
    return ZoneHeadroom(
        zones=request.zones,
        survive_zone_loss=request.survive_zone_loss,
        instances_per_zone=[base + (1 if z < rest else 0) for z in range(request.zones)],
        serving_instances=plan.serving_instances,
        headroom_instances=extra,
        headroom_monthly_usd=extra * book.monthly(hourly),
        instance_type=plan.instance_type,
    )


def placement(request: PlanRequest) -> ZonePlacement:
    return ZonePlacement(
        zones=request.zones,
        survive_zone_loss=request.survive_zone_loss,
        redundancy=request.redundancy,
    )


def app_sizing(request: PlanRequest, instance_type: str, book: PriceBook) -> AppSizing:
    """The fleet of `instance_type` for the request's target: by latency when an objective
    is known, else by the utilization rule; CapacityInputError when none reaches it. The
    app tier is sized for the target x the balancer's imbalance (the busiest instance's
    share x instances): that instance overloads first."""
    imbalance = request.lb_imbalance
    if imbalance.value > 1:
        busiest = request.workload.target_rps * imbalance.value
        request = replace(request, workload=replace(request.workload, target_rps=busiest))
    rule, serving, how = _rule(request, instance_type, book)
    if imbalance.value > 1:
        how += f"; load x {imbalance.value:g} for the busiest instance ({imbalance.source})"
    zones = placement(request)
    if request.latency is None:
        if zones.zones > 1:
            return AppSizing(
                instances=zones.fleet(serving),
                serving=serving,
                sizing=f"{how}; {zones.how(serving)}",
                slo=None,
                rule=how,
            )
        return AppSizing(instances=rule, serving=serving, sizing=how, slo=None, rule=how)
    slo = size_for_latency(
        request.workload.target_rps,
        objective=request.latency,
        rate=server_rate(request, instance_type, book),
        placement=zones,
        rule_of_thumb_instances=rule,
    )
    if not slo.reachable and request.latency.required:
        raise CapacityInputError(f"{instance_type}: {slo.sentence()}")
    if not slo.reachable:
        fleet = zones.fleet(serving) if zones.zones > 1 else rule
        return AppSizing(
            instances=fleet,
            serving=serving,
            sizing=f"{how} (the run's objective is out of reach: {slo.sentence()})",
            slo=None,
            rule=how,
        )
    return AppSizing(
        instances=slo.instances,
        serving=slo.serving_instances,
        sizing=f"{slo.sentence()}; the {request.utilization:.0%} rule gives {rule}",
        slo=slo,
        rule=how,
    )


def server_rate(request: PlanRequest, instance_type: str, book: PriceBook) -> ServerRate:
    """One vCPU's rate: 1 / D when measured, else the per-instance figure over its vCPUs."""
    vcpu = book.ec2(request.region, instance_type).vcpu
    if request.per_core_rps is not None:
        per_server = request.per_core_rps
    else:
        per_instance = per_instance_rps(request, instance_type, book)
        per_server = Figure(per_instance.value / vcpu, f"{per_instance.source}; over {vcpu} vCPU")
    return ServerRate(per_server_rps=per_server, servers_per_instance=vcpu, fit=request.fit)


def per_instance_rps(request: PlanRequest, instance_type: str, book: PriceBook) -> Figure:
    """What one instance of `instance_type` carries at 100 %: 1 / D x vCPUs when measured,
    else the per-instance figure (or the USL's lambda) scaled by its vCPUs."""
    if request.per_core_rps is not None:
        vcpu = book.ec2(request.region, instance_type).vcpu
        rate = request.per_core_rps
        return Figure(rate.value * vcpu, f"{rate.source}; x {vcpu} vCPU")
    reference = book.ec2(request.region, request.instance_type)
    scale = book.ec2(request.region, instance_type).vcpu / reference.vcpu
    if request.per_instance_rps is not None:
        figure = request.per_instance_rps
    else:
        assert request.fit is not None  # PlanRequest guarantees one of them
        figure = Figure(request.fit.lam, "lambda of the USL fit")
    if scale == 1:
        return figure
    return Figure(figure.value * scale, f"{figure.source}; x {scale:g} for its vCPUs")


def _rule(request: PlanRequest, instance_type: str, book: PriceBook) -> tuple[int, int, str]:
    """The utilization rule: (instances with redundancy, serving instances, how)."""
    reference = book.ec2(request.region, request.instance_type)
    scale = book.ec2(request.region, instance_type).vcpu / reference.vcpu
    target, k = request.workload.target_rps, request.redundancy
    if request.fit is not None:
        fit = replace(request.fit, lam=request.fit.lam * scale)
        usl = usl_instances(target, fit, utilization=request.utilization, redundancy=k)
        if not usl.reachable:
            raise CapacityInputError(
                f"the USL fit peaks at {usl.ceiling_rps:,.0f} req/s; at {request.utilization:.0%}"
                f" utilization no fleet of this design reaches {target:,.0f} req/s"
            )
        serving = usl.instances - k
        return (
            usl.instances,
            serving,
            (
                f"USL X(N): {serving} instances deliver {usl.modelled_rps:,.0f} req/s "
                f"(x {request.utilization:.0%} >= {target:,.0f}) + {k} redundancy"
            ),
        )
    if request.per_core_rps is not None:
        vcpu = book.ec2(request.region, instance_type).vcpu
        per_instance = request.per_core_rps.value * vcpu
        rate = f"{request.per_core_rps.value:,.1f} req/s per core x {vcpu} vCPU"
        source = f"{request.per_core_rps.source}; one worker per vCPU"
    else:
        assert request.per_instance_rps is not None  # PlanRequest guarantees one of them
        per_instance = request.per_instance_rps.value * scale
        rate, source = f"{per_instance:,.1f} req/s", request.per_instance_rps.source
    count = linear_instances(target, per_instance, utilization=request.utilization, redundancy=k)
    return (
        count,
        count - k,
        (f"ceil({target:,.0f} / ({rate} x {request.utilization:g})) + {k} = {count} ({source})"),
    )


@dataclass(frozen=True, kw_only=True)
class SeedLatency:
    """The seed's fleet judged by the same queueing model as the right-sized one."""

    instances: int
    instance_type: str
    predicted_p95_ms: float
    seed_p95_ms: float  # what the seed expects with the cache

    def sentence(self, target_rps: float) -> str:
        return (
            f"the seed's {self.instances} x {self.instance_type} at {target_rps:,.0f} req/s: "
            f"predicted p95 {self.predicted_p95_ms:,.1f} ms by the same model (the seed "
            f"expects {self.seed_p95_ms:g} ms)"
        )


def seed_latency(
    request: PlanRequest, book: PriceBook, *, instances: int, instance_type: str, seed_p95: float
) -> SeedLatency | None:
    if request.latency is None:
        return None
    rate = server_rate(request, instance_type, book)
    p95 = predicted_p95_ms(
        request.workload.target_rps, instances, rate, request.latency.floor_ms.value
    )
    return SeedLatency(
        instances=instances,
        instance_type=instance_type,
        predicted_p95_ms=p95,
        seed_p95_ms=seed_p95,
    )
