"""What limited a scale-out point, judged from its window (the USE method across tiers):
the instances must be the first limit for the point to measure the fleet.

In order: errors over 1 %; the instances at 85 % of their CPU caps (or throttled in half their
CFS periods); a Locust process at 90 % of a core (the generator); a shared server at 90 % of
its cores (nginx, a database node, Redis); the whole machine 90 % busy (on a shared machine,
other programs); else nothing (`none`: the offered load was too low).
"""

from __future__ import annotations

from pipeline.scaleout_window import WindowFacts
from rundir.scaleout_json import INSTANCES_LIMIT, MACHINE_LIMIT, ROLE_SHARED, ScaleoutTier

INSTANCES_SATURATED = 0.85  # of their CPU caps: the instances were the limit
THROTTLED_SATURATED = 0.5  # of the CFS periods the instances ran in: so were they
TIER_SATURATED = 0.90  # of the cores a shared server (or one Locust process) can use
MAX_ERROR_RATE = 0.01


def first_limit(
    facts: WindowFacts, *, error_rate: float, instances: int, period_us: int | None
) -> tuple[str, str]:
    """Who hit its limit first, and the evidence: errors over 1 %; else the instances at
    85 % of their caps (or throttled in half their periods); else a Locust process at 90 % of
    a core; else a shared server at 90 % of its cores; else the whole machine at 90 % busy;
    else nothing (`none`)."""
    if error_rate > MAX_ERROR_RATE:
        return "errors", f"{error_rate:.1%} of requests failed"
    tiers = {tier.name: tier for tier in facts.tiers}
    fleet = tiers.get("instances")
    if fleet is not None and fleet.cores_used is not None and fleet.cores_available:
        used = fleet.cores_used / fleet.cores_available
        throttled = _throttled_share(fleet, facts.seconds * instances, period_us)
        if used >= INSTANCES_SATURATED or (throttled or 0.0) >= THROTTLED_SATURATED:
            detail = f"instances used {used:.0%} of their CPU caps"
            if throttled is not None:
                detail += f", throttled in {throttled:.0%} of CFS periods"
            return INSTANCES_LIMIT, detail
    if facts.generator_busiest >= TIER_SATURATED:
        return "load_generator", (
            f"a Locust process used {facts.generator_busiest:.0%} of a core while the "
            f"instances used {_share(fleet)} of their caps"
        )
    for tier in facts.tiers:
        if tier.role == ROLE_SHARED and tier.cores_used is not None and tier.cores_available:
            share = tier.cores_used / tier.cores_available
            if share >= TIER_SATURATED:
                return tier.name, f"{tier.name} used {share:.0%} of {tier.cores_available:g} cores"
    if facts.machine_busy is not None and facts.machine_busy >= TIER_SATURATED:
        others = (
            f"; processes outside the measurement used {facts.others_cores:.2f} cores"
            if facts.others_cores is not None
            else ""
        )
        return MACHINE_LIMIT, (
            f"the machine's CPUs were {facts.machine_busy:.0%} busy while the instances used "
            f"{_share(fleet)} of their caps{others}"
        )
    return "none", f"nothing saturated: the instances used {_share(fleet)} of their caps"


def _share(tier: ScaleoutTier | None) -> str:
    if tier is None or tier.cores_used is None or not tier.cores_available:
        return "an unknown share"
    return f"{tier.cores_used / tier.cores_available:.0%}"


def _throttled_share(
    tier: ScaleoutTier, instance_seconds: float, period_us: int | None
) -> float | None:
    """Throttled CFS periods ÷ the periods the instances had in the window together."""
    if tier.nr_throttled is None or not period_us or instance_seconds <= 0:
        return None
    return tier.nr_throttled / (instance_seconds * 1e6 / period_us)
