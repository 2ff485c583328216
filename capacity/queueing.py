"""The M/M/c queue: Erlang C, the response-time tail and its percentiles, square-root staffing.

c servers each serving at rate mu (1 / mean service time), Poisson arrivals at rate lam,
offered load a = lam / mu < c. Erlang C is the probability that an arrival waits; a waiting
arrival waits an exponential time of rate theta = c mu - lam; the response time adds its own
exponential service time. So

    P(R > t) = (1 - C) e^(-mu t) + C (mu e^(-theta t) - theta e^(-mu t)) / (mu - theta)

(the second term the tail of the sum of two exponentials; (1 + mu t) e^(-mu t) when
theta = mu). Percentiles are found by bisection on that tail. Square-root staffing,
c = a + beta sqrt(a), is the Halfin-Whitt closed form of the same answer.
"""

from __future__ import annotations

import math

# Below this the tail's two exponential rates are taken as equal (the formula's 0 / 0 limit).
_SAME_RATE = 1e-9
_BISECTION_STEPS = 200


def erlang_c(servers: int, offered_load: float) -> float:
    """Probability that an arrival waits in M/M/c: 1.0 when the queue is unstable (a >= c).

    Through the Erlang B recursion B(k) = a B(k-1) / (k + a B(k-1)), which neither
    overflows (no a^c / c!) nor loses precision for thousands of servers.
    """
    if servers < 1:
        raise ValueError(f"servers must be 1 or more, got {servers}")
    if offered_load < 0:
        raise ValueError(f"offered load must be 0 or more, got {offered_load}")
    if offered_load >= servers:
        return 1.0
    blocking = 1.0
    for k in range(1, servers + 1):
        blocking = offered_load * blocking / (k + offered_load * blocking)
    return servers * blocking / (servers - offered_load * (1.0 - blocking))


def response_time_tail(
    t: float, *, servers: int, arrival_rate: float, service_rate: float
) -> float:
    """P(R > t) in M/M/c: waiting (Erlang C, exponential wait) plus an exponential service."""
    if arrival_rate >= servers * service_rate:
        return 1.0
    wait = erlang_c(servers, arrival_rate / service_rate)
    return _tail(t, wait, servers * service_rate - arrival_rate, service_rate)


def _tail(t: float, wait: float, theta: float, mu: float) -> float:
    alone = math.exp(-mu * t)
    if abs(mu - theta) < _SAME_RATE * mu:
        both = (1.0 + mu * t) * alone
    else:
        both = (mu * math.exp(-theta * t) - theta * alone) / (mu - theta)
    return (1.0 - wait) * alone + wait * both


def response_time_percentile(
    quantile: float, *, servers: int, arrival_rate: float, service_rate: float
) -> float:
    """The response time t with P(R <= t) = quantile; inf when the queue is unstable."""
    if not 0 < quantile < 1:
        raise ValueError(f"quantile must be in (0, 1), got {quantile}")
    if arrival_rate >= servers * service_rate:
        return math.inf
    exceed, mu = 1.0 - quantile, service_rate
    wait, theta = erlang_c(servers, arrival_rate / mu), servers * mu - arrival_rate
    high = 1.0 / mu
    while _tail(high, wait, theta, mu) > exceed:
        high *= 2.0
    low = 0.0
    for _ in range(_BISECTION_STEPS):
        mid = (low + high) / 2.0
        if _tail(mid, wait, theta, mu) > exceed:
            low = mid
        else:
            high = mid
        if high - low <= 1e-12 * high:
            break
    return high


def square_root_staffing(offered_load: float, beta: float) -> float:
    """c = a + beta sqrt(a): the servers that keep P(wait) near alpha(beta) as a grows."""
    return offered_load + beta * math.sqrt(offered_load)


def halfin_whitt_wait_probability(beta: float) -> float:
    """The limit of Erlang C under square-root staffing: 1 / (1 + beta Phi(beta) / phi(beta))."""
    phi = math.exp(-beta * beta / 2.0) / math.sqrt(2.0 * math.pi)
    big_phi = 0.5 * (1.0 + math.erf(beta / math.sqrt(2.0)))
    return 1.0 / (1.0 + beta * big_phi / phi)
