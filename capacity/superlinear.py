"""Why a scale-out point came out superlinear, from what was measured beside it.

More than N times one instance's throughput from N instances is real sometimes (a
per-instance cache holding more of the working set in aggregate; Gunther, "Hadoop
superlinear scalability", ACM Queue 2015, shows the real kind followed by a drop) and an
artefact often: the single instance was starved. Each check below compares the N = 1 point
with the superlinear one and speaks only when the numbers show a difference:

- the single instance did not use its CPU cap (it was not driven to its limit);
- each of its requests cost more CPU (a cold cache, stalls: a starved X(1));
- its cgroup was throttled more per CPU second (stalls past the service's timeouts);
- it logged cache errors (a throttled instance tripping the 50 ms Redis timeout);
- N = 1 ran first and its first repeat was its slowest (warm-up).
"""

from __future__ import annotations

from collections.abc import Sequence

from rundir.scaleout_json import ROLE_INSTANCES, ScaleoutPoint, ScaleoutTier

SATURATED_SHARE = 0.85  # the USE rule's service CPU threshold (CAPACITY-METHOD.md)
MORE = 1.10  # a difference worth naming: 10 % beyond the other point's figure
NO_CAUSE = (
    "none of the measured causes (CPU cap unused, CPU per request, throttling, cache errors, "
    "warm-up) shows at N = 1; a per-instance effect may be real (more of the working set "
    "cached in aggregate), and Gunther finds the real kind followed by a drop"
)


def superlinear_cause(point: ScaleoutPoint, single: ScaleoutPoint) -> str:
    """The causes the measurements show, most telling first; `NO_CAUSE` when none does."""
    fleet, alone = _instances(point.tiers), _instances(single.tiers)
    causes = [
        cause
        for cause in (
            _unsaturated(alone),
            _costlier_requests(alone, fleet),
            _more_throttled(alone, fleet),
            _cache_errors(point, single),
            _warm_up(single),
        )
        if cause
    ]
    if not causes:
        return NO_CAUSE
    return "X(1) looks starved: " + "; ".join(causes)


def _instances(tiers: Sequence[ScaleoutTier]) -> ScaleoutTier | None:
    return next((t for t in tiers if t.role == ROLE_INSTANCES), None)


def _unsaturated(alone: ScaleoutTier | None) -> str | None:
    if alone is None or alone.cores_used is None or not alone.cores_available:
        return None
    share = alone.cores_used / alone.cores_available
    if share >= SATURATED_SHARE:
        return None
    return (
        f"the single instance used {share:.0%} of its {alone.cores_available:g}-core cap "
        "(not driven to its limit)"
    )


def _costlier_requests(alone: ScaleoutTier | None, fleet: ScaleoutTier | None) -> str | None:
    if alone is None or fleet is None:
        return None
    d1, dn = alone.cpu_s_per_request, fleet.cpu_s_per_request
    if d1 is None or dn is None or dn <= 0 or d1 <= dn * MORE:
        return None
    return (
        f"each request cost it {d1 * 1000:.3g} CPU-ms against {dn * 1000:.3g} in the fleet "
        "(a cold cache or stalls)"
    )


def _more_throttled(alone: ScaleoutTier | None, fleet: ScaleoutTier | None) -> str | None:
    a, b = _throttled_share(alone), _throttled_share(fleet)
    if a is None or b is None or a <= 0 or a <= b * MORE:
        return None
    return f"it was throttled {a:.2g} s per CPU-second against {b:.2g} in the fleet"


def _throttled_share(tier: ScaleoutTier | None) -> float | None:
    if tier is None or tier.throttled_s is None or not tier.cpu_s:
        return None
    return tier.throttled_s / tier.cpu_s


def _cache_errors(point: ScaleoutPoint, single: ScaleoutPoint) -> str | None:
    alone = sum(r.cache_errors or 0 for r in single.repeats)
    fleet = sum(r.cache_errors or 0 for r in point.repeats)
    if alone <= 0 or alone <= fleet:
        return None
    return (
        f"it logged {alone:g} cache errors (a throttled instance trips the Redis timeout; "
        f"the N = {point.instances} fleet logged {fleet:g})"
    )


def _warm_up(single: ScaleoutPoint) -> str | None:
    ordered = [r for r in single.repeats if r.sequence is not None]
    if not ordered:
        return None
    first = min(ordered, key=lambda r: r.sequence or 0)
    if first.sequence != 0:
        return None
    if len(single.repeats) == 1:
        return "N = 1 ran first, and one repeat cannot rule out warm-up"
    slowest = min(single.repeats, key=lambda r: r.throughput_rps)
    if first is not slowest:
        return None
    return "N = 1 ran first and its first repeat was its slowest (warm-up)"
