"""App-tier sizing: how many instances carry a target load at a chosen utilization.

Linear: instances = ceil(target_rps / (per_instance_rps x utilization)) + redundancy.
With a USL fit over instance counts, the smallest N whose modelled throughput X(N), run at the
same utilization, carries the target, plus redundancy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from capacity.errors import CapacityInputError

if TYPE_CHECKING:  # scipy (behind capacity.usl) is slow to import and a plain plan needs none
    from capacity.usl import UslFit

# Float quotients such as 700 / (10 x 0.7) land a hair above the integer; don't round that up.
_CEIL_TOLERANCE = 1e-9
# The load a plan is for when none is given (`loadcap plan`, `demo`, the Capacity tab). It is
# the seed's 1,000 req/s by choice, but a separate fact from capacity/seed.py's
# SEED_TARGET_RPS (what the seed plan was sized for, which its figures are checked against):
# changing loadcap's default must not rewrite the seed.
DEFAULT_TARGET_RPS = 1000.0
DEFAULT_UTILIZATION = 0.7
DEFAULT_REDUNDANCY = 1
# The search for N under a USL fit stops here: far past any fleet this tool should price.
MAX_USL_INSTANCES = 100_000


# Rates and times a plan takes lie in this range: outside it the arithmetic overflows to inf
# (1e308 req/s, or 5e-324 req/s per instance) long before it means anything.
MIN_QUANTITY = 1e-3
MAX_QUANTITY = 1e9


def check_positive(name: str, value: float) -> float:
    if not math.isfinite(value) or value <= 0:
        raise CapacityInputError(f"{name} must be a positive number, got {value}")
    if not MIN_QUANTITY <= value <= MAX_QUANTITY:
        raise CapacityInputError(
            f"{name} must be between {MIN_QUANTITY:g} and {MAX_QUANTITY:g}, got {value:g}"
        )
    return value


def check_utilization(utilization: float) -> float:
    if not math.isfinite(utilization) or not 0 < utilization <= 1:
        raise CapacityInputError(f"utilization must be in (0, 1], got {utilization}")
    return utilization


def check_redundancy(redundancy: int) -> int:
    if redundancy < 0:
        raise CapacityInputError(f"redundancy must be 0 or more, got {redundancy}")
    return redundancy


def ceil_count(value: float) -> int:
    return math.ceil(value - _CEIL_TOLERANCE)


def linear_instances(
    target_rps: float, per_instance_rps: float, *, utilization: float, redundancy: int
) -> int:
    """ceil(target / (per-instance x utilization)) + redundancy."""
    check_positive("target_rps", target_rps)
    check_positive("per_instance_rps", per_instance_rps)
    check_utilization(utilization)
    check_redundancy(redundancy)
    return ceil_count(target_rps / (per_instance_rps * utilization)) + redundancy


@dataclass(frozen=True, kw_only=True)
class UslSizing:
    instances: int  # including redundancy; 0 when the target is out of the model's reach
    reachable: bool
    modelled_rps: float  # X(N) at the serving fleet size (without redundancy)
    ceiling_rps: float  # the most the model says any fleet can deliver


def usl_instances(
    target_rps: float, fit: UslFit, *, utilization: float, redundancy: int
) -> UslSizing:
    """Smallest N with X(N) x utilization >= target; unreachable past the USL peak."""
    check_positive("target_rps", target_rps)
    check_utilization(utilization)
    check_redundancy(redundancy)
    ceiling = fit.ceiling_throughput(MAX_USL_INSTANCES)
    if ceiling * utilization < target_rps:
        return UslSizing(instances=0, reachable=False, modelled_rps=ceiling, ceiling_rps=ceiling)
    # X(N) rises monotonically up to the peak, so bisect on [1, N_peak].
    low, high = 1, max(1, math.floor(fit.peak_n)) if fit.peak_n else MAX_USL_INSTANCES
    if fit.predict(high) * utilization < target_rps:
        high += 1  # the peak lies between two integers and the upper one carries it
    while low < high:
        mid = (low + high) // 2
        if fit.predict(mid) * utilization >= target_rps:
            high = mid
        else:
            low = mid + 1
    return UslSizing(
        instances=low + redundancy,
        reachable=True,
        modelled_rps=fit.predict(low),
        ceiling_rps=ceiling,
    )
