"""Load-balancer imbalance: the busiest instance carries more than the mean share.

A plan that divides the load evenly sizes for the mean instance; the one that overloads first
is the busiest. With the busiest instance's measured share s of the requests over n
instances, the factor s x n (1 for perfect balance) scales the load each instance must
carry: `--lb-imbalance` takes it from a scale-out measurement (least_conn spreads far more
evenly than random placement).

Without a balancer that looks at load, placement is random, and the busiest of n servers
gets far more than 1/n: `servers_for_random_placement` gives the fewest servers of a given
capacity that keep the chance that any one overflows below a bound (a union bound over
binomial tails: 1,000 requests over servers of capacity 100 need 13, not 10).
"""

from __future__ import annotations

import math

from capacity.errors import CapacityInputError

MAX_IMBALANCE = 10.0


def check_imbalance(factor: float) -> float:
    if not math.isfinite(factor) or not 1.0 <= factor <= MAX_IMBALANCE:
        raise CapacityInputError(
            f"--lb-imbalance is the busiest instance's share x instances, from 1 (even) to "
            f"{MAX_IMBALANCE:g}, got {factor}"
        )
    return factor


def binomial_tail(trials: int, p: float, above: int) -> float:
    """P(X > above) for X ~ Binomial(trials, p), summed in log space (no overflow)."""
    if above >= trials:
        return 0.0
    if above < 0:
        return 1.0
    log_p, log_q = math.log(p), math.log1p(-p)
    total = 0.0
    for k in range(above + 1, trials + 1):
        log_term = (
            math.lgamma(trials + 1) - math.lgamma(k + 1) - math.lgamma(trials - k + 1)
            + k * log_p + (trials - k) * log_q
        )  # fmt: skip
        total += math.exp(log_term)
    return min(1.0, total)


def servers_for_random_placement(requests: int, capacity: int, overflow: float = 0.05) -> int:
    """The fewest servers such that, placing `requests` uniformly at random, the chance any
    server gets more than `capacity` stays below `overflow` (union bound over servers)."""
    if requests < 1 or capacity < 1 or not 0 < overflow < 1:
        raise CapacityInputError("requests and capacity must be positive, overflow in (0, 1)")
    servers = max(1, math.ceil(requests / capacity))
    while servers * binomial_tail(requests, 1.0 / servers, capacity) > overflow:
        servers += 1
    return servers


# Past this many requests a second the binomial sums get slow and the answer is the mean.
MAX_PLACEMENT_REQUESTS = 20_000


def random_placement_note(target_rps: float, per_instance_rps: float, serving: int) -> str | None:
    """What an even split hides: the instances random placement would need for the same
    per-instance limit, one second's requests at a time."""
    capacity = math.floor(per_instance_rps)
    if target_rps > MAX_PLACEMENT_REQUESTS or capacity < 1 or serving < 1:
        return None
    needed = servers_for_random_placement(round(target_rps), capacity)
    if needed <= serving:
        return None  # at this size per-second bursts fit in the spare capacity
    return (
        f"an even split is assumed ({serving} instances serving); placed at random, "
        f"{target_rps:,.0f} requests a second over instances of {capacity:,} req/s need "
        f"{needed} to keep any one from overflowing in 95 % of seconds: measure the busiest "
        "instance's share behind your balancer and pass --lb-imbalance"
    )
