"""Who hit its limit first in one scale-out repeat: the USE verdict over the tiers.

In order (CAPACITY-METHOD.md's rule, with the fleet's shared servers put before the
instances: a point where nginx or the master saturated is that server's, not the fleet's):

1. the load generator at >= 90 % of its cores (Locust's own warning threshold);
2. a shared tier at >= 85 % of its cores (the busiest one);
3. the instances at >= 85 % of their cores (the cap times N): the point measures the fleet;
4. an error rate over the budget;
5. else `none`: nothing saturated, the point is a lower bound.
"""

from __future__ import annotations

from collections.abc import Sequence

from rundir.scaleout_json import (
    INSTANCES_LIMIT,
    ROLE_GENERATOR,
    ROLE_INSTANCES,
    ROLE_SHARED,
    ScaleoutTier,
)

GENERATOR_SATURATED = 0.90
SATURATED = 0.85


def repeat_verdict(
    tiers: Sequence[ScaleoutTier],
    *,
    error_rate: float | None = None,
    max_error_rate: float | None = None,
) -> tuple[str, str]:
    """(first_limit, the evidence in a sentence) for one repeat's tiers."""
    generator = _busiest(tiers, ROLE_GENERATOR)
    if generator is not None and _share(generator) >= GENERATOR_SATURATED:
        return "load_generator", _used("the load generator", generator)
    shared = _busiest(tiers, ROLE_SHARED)
    if shared is not None and _share(shared) >= SATURATED:
        return shared.name, _used(shared.name, shared)
    instances = _busiest(tiers, ROLE_INSTANCES)
    if instances is not None and _share(instances) >= SATURATED:
        return INSTANCES_LIMIT, _used("the instances", instances)
    if error_rate is not None and max_error_rate is not None and error_rate > max_error_rate:
        return "errors", f"error rate {error_rate:.2%} over the budget of {max_error_rate:.2%}"
    busiest = [t for t in (instances, shared, generator) if t is not None]
    seen = "; ".join(_used(t.name, t) for t in busiest) or "no tier's CPU was measured"
    return "none", f"nothing reached {SATURATED:.0%} of its cores ({seen})"


def _busiest(tiers: Sequence[ScaleoutTier], role: str) -> ScaleoutTier | None:
    measured = [t for t in tiers if t.role == role and t.cores_used is not None]
    return max(measured, key=_share, default=None)


def _share(tier: ScaleoutTier) -> float:
    if tier.cores_used is None or not tier.cores_available:
        return 0.0
    return tier.cores_used / tier.cores_available


def _used(what: str, tier: ScaleoutTier) -> str:
    available = f" of {tier.cores_available:g}" if tier.cores_available else ""
    return f"{what} used {tier.cores_used or 0.0:.2f}{available} cores"
