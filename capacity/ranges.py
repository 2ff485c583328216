"""Plans over a range of loads (`--target-rps 600:1000:1500`) and the least-regret fleet.

At each of low, mid and high the app fleet is sized as a single target would be; beside it an
interval from the measurements' own uncertainty: the service demand D's spread over the run's
stages (the fleet at the slowest and the fastest D measured), or the USL's lambda +- 2
standard errors. The recommendation is the fleet, among those sized for the three loads,
whose worst regret over them is smallest: regret is the monthly price of the instances
idle beyond what a load needs, or of those missing below it times `short_cost_factor`
(being one instance short is taken to cost that many times an idle one: a stated
assumption, `--short-cost-factor`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from capacity.app_tier import app_sizing
from capacity.errors import CapacityInputError
from capacity.figures import Figure
from capacity.pricing import PriceBook
from capacity.sizing import check_positive

if TYPE_CHECKING:
    from capacity.plans import PlanRequest

LOAD_NAMES = ("low", "mid", "high")
DEFAULT_SHORT_COST_FACTOR = 3.0
USL_INTERVAL_SE = 2.0


def parse_target(text: str) -> tuple[float, ...]:
    """'1000' or 'low:mid:high' (ascending), each a positive req/s."""
    parts = text.split(":")
    if len(parts) not in (1, 3):
        raise CapacityInputError(f"--target-rps takes RPS or LOW:MID:HIGH, got {text!r}")
    try:
        loads = tuple(float(p) for p in parts)
    except ValueError:
        raise CapacityInputError(f"--target-rps takes numbers, got {text!r}") from None
    for load in loads:
        check_positive("--target-rps", load)
    if list(loads) != sorted(loads):
        raise CapacityInputError(f"--target-rps LOW:MID:HIGH must ascend, got {text!r}")
    return loads


@dataclass(frozen=True, kw_only=True)
class LoadPoint:
    name: str
    target_rps: float
    instances: int
    interval: tuple[int, int]  # fleet at the least and most favourable measurement
    monthly_usd: float  # instances x the type's monthly price


@dataclass(frozen=True, kw_only=True)
class Regret:
    instances: int
    worst_usd: float  # the largest regret over the loads
    at: str  # the load where it happens


@dataclass(frozen=True, kw_only=True)
class TargetRange:
    points: list[LoadPoint]
    regrets: list[Regret]
    short_cost_factor: float
    instance_type: str
    interval_source: str

    @property
    def recommended(self) -> Regret:
        return min(self.regrets, key=lambda r: (r.worst_usd, r.instances))

    def sentence(self) -> str:
        points = "; ".join(
            f"{p.name} {p.target_rps:,.0f} req/s: {p.instances} x {self.instance_type} "
            f"[{p.interval[0]}-{p.interval[1]}], ${p.monthly_usd:,.2f}/month"
            for p in self.points
        )
        best = self.recommended
        return (
            f"{points} (intervals from {self.interval_source}). Least regret: "
            f"{best.instances} instances, worst regret ${best.worst_usd:,.2f}/month at the "
            f"{best.at} load, counting an instance short as {self.short_cost_factor:g}x an "
            "idle one"
        )


def plan_range(
    request: PlanRequest, loads: tuple[float, ...], book: PriceBook, short_cost_factor: float
) -> TargetRange | None:
    if len(loads) != 3:
        return None
    check_positive("--short-cost-factor", short_cost_factor)
    monthly = book.monthly(book.ec2(request.region, request.instance_type).hourly_usd)
    low_request, high_request, source = _bounds(request)
    points = []
    for name, load in zip(LOAD_NAMES, loads, strict=True):
        try:
            n = _instances(request, load, book)
            bounds = (_instances(low_request, load, book), _instances(high_request, load, book))
        except CapacityInputError as exc:
            raise CapacityInputError(f"the {name} load, {load:,.0f} req/s: {exc}") from None
        points.append(
            LoadPoint(
                name=name,
                target_rps=load,
                instances=n,
                interval=(min(bounds), max(bounds)),
                monthly_usd=n * monthly,
            )
        )
    regrets = [_regret(p.instances, points, monthly, short_cost_factor) for p in points]
    return TargetRange(
        points=points,
        regrets=regrets,
        short_cost_factor=short_cost_factor,
        instance_type=request.instance_type,
        interval_source=source,
    )


def _instances(request: PlanRequest, load: float, book: PriceBook) -> int:
    at = replace(request, workload=replace(request.workload, target_rps=load))
    return app_sizing(at, request.instance_type, book).instances


def _bounds(request: PlanRequest) -> tuple[PlanRequest, PlanRequest, str]:
    """The request at its most and least favourable measurement, and where the spread is from."""
    if request.fit is not None:
        se = USL_INTERVAL_SE * request.fit.lambda_se
        fast = replace(request.fit, lam=request.fit.lam + se)
        slow = replace(request.fit, lam=max(request.fit.lam - se, request.fit.lam * 0.01))
        return (
            replace(request, fit=fast),
            replace(request, fit=slow),
            f"the USL's lambda +- {USL_INTERVAL_SE:g} standard errors ({se:,.1f} req/s)",
        )
    spread = request.per_core_spread
    if request.per_core_rps is not None and spread is not None:
        quick, sluggish = max(spread), min(spread)
        source = request.per_core_rps.source
        return (
            replace(request, per_core_rps=Figure(quick, source)),
            replace(request, per_core_rps=Figure(sluggish, source)),
            f"D's spread over the run's stages: {1000 / quick:.3f}-{1000 / sluggish:.3f} ms "
            "of CPU per request",
        )
    return request, request, "no spread measured: a single figure, so no interval"


def _regret(instances: int, points: list[LoadPoint], monthly: float, factor: float) -> Regret:
    worst, at = -math.inf, ""
    for point in points:
        idle = max(0, instances - point.instances) * monthly
        short = max(0, point.instances - instances) * monthly * factor
        if idle + short > worst:
            worst, at = idle + short, point.name
    return Regret(instances=instances, worst_usd=worst, at=at)
