"""Which shared tier bends the fleet's curve: the Utilization Law across tiers.

Each server the fleet shares (nginx, the master, each replica, Redis) has a demand
D_k = its CPU seconds / the fleet's requests, pooled over every measured point. Whatever
the number of instances, the fleet cannot exceed cores_k / D_k requests a second through
it; the tier with the lowest such bound is the bottleneck, and it saturates at
N_sat = bound / X(1) instances if the fleet scaled linearly, or where the fitted USL curve
reaches the bound (never, when the curve's peak stays under it).

The demands hold for the servers as they ran here (their cores, this CPU): a managed
database on other hardware has its own D_k; the ranking is what carries over.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from capacity.scaleout_points import pooled_tiers
from capacity.usl import UslFit
from rundir.scaleout_json import ROLE_SHARED, ScaleoutBottleneck, ScaleoutPoint, ScaleoutTier

BISECTION_STEPS = 60


def fleet_bottleneck(
    points: Sequence[ScaleoutPoint], *, per_instance_rps: float, fit: UslFit | None
) -> ScaleoutBottleneck | None:
    """The shared tier with the lowest fleet bound; None when no shared tier was measured."""
    shared = [
        tier
        for tier in pooled_tiers(p.tiers for p in points)
        if tier.role == ROLE_SHARED and tier.cpu_s_per_request and tier.cores_available
    ]
    if not shared or per_instance_rps <= 0:
        return None
    ranked = sorted(shared, key=_bound)
    worst = ranked[0]
    demand, cores = _demand(worst), float(worst.cores_available or 0.0)
    bound = cores / demand
    linear = bound / per_instance_rps
    fitted = fitted_saturation(fit, bound) if fit is not None else None
    return ScaleoutBottleneck(
        tier=worst.name,
        cpu_s_per_request=demand,
        cores_available=cores,
        fleet_bound_rps=bound,
        per_instance_rps=per_instance_rps,
        saturates_at_instances=linear,
        fitted_saturates_at_instances=fitted,
        demands={tier.name: _demand(tier) for tier in ranked},
        sentence=_sentence(ranked, per_instance_rps, fit, fitted),
    )


def _demand(tier: ScaleoutTier) -> float:
    return float(tier.cpu_s_per_request or math.inf)


def _bound(tier: ScaleoutTier) -> float:
    return float(tier.cores_available or 0.0) / _demand(tier)


def fitted_saturation(fit: UslFit, bound_rps: float) -> float | None:
    """The N at which the fitted X(N) first reaches `bound_rps`; None if it never does."""
    if fit.predict(1.0) >= bound_rps:
        return 1.0
    high = fit.peak_n if fit.peak_n is not None else _rising_until(fit, bound_rps)
    if high is None or fit.predict(high) < bound_rps:
        return None
    low = 1.0
    for _ in range(BISECTION_STEPS):
        middle = (low + high) / 2.0
        if fit.predict(middle) >= bound_rps:
            high = middle
        else:
            low = middle
    return high


def _rising_until(fit: UslFit, bound_rps: float) -> float | None:
    """Without a peak X(N) rises towards lambda / sigma: an N past the bound, if it has one."""
    n = 2.0
    while n < 1e7:
        if fit.predict(n) >= bound_rps:
            return n
        n *= 2.0
    return None


def _sentence(
    ranked: Sequence[ScaleoutTier],
    per_instance_rps: float,
    fit: UslFit | None,
    fitted: float | None,
) -> str:
    worst = ranked[0]
    demand, bound = _demand(worst), _bound(worst)
    text = (
        f"{worst.name} limits the fleet first: {demand * 1000:.3g} CPU-ms per request on "
        f"{worst.cores_available:g} core(s) bounds the fleet at {bound:,.0f} req/s whatever "
        f"the number of instances; at {per_instance_rps:,.0f} req/s per instance it "
        f"saturates at N = {bound / per_instance_rps:,.1f} if the fleet scaled linearly"
    )
    if fit is not None:
        peak = (
            f"the fit's N* = {fit.peak_n:,.1f}"
            if fit.peak_n is not None
            else "the fit has no peak: kappa = 0"
        )
        text += (
            f", N = {fitted:,.1f} on the fitted curve ({peak})"
            if fitted is not None
            else f"; the fitted curve never reaches it ({peak})"
        )
    if len(ranked) > 1:
        runner_up = ranked[1]
        text += f". Next: {runner_up.name} at {_bound(runner_up):,.0f} req/s"
    return text + "."
