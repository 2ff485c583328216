"""Why a scale-out's curve bends, when it bends inside the instances: their own CPU per
request compared between the smallest and the largest N, and what moved with it.

When the instances' demand rises with N beyond the repeats' spread (and by at least
`DEMAND_RISE`) while no shared tier is near its limit, the bend is in the instances, not in a
server they share, and the fit's kappa describes the instances. The evidence each point
carries (`ScaleoutEvidence`) is then compared between the two N:

What moved between the smaller and the larger N, and how it reads:
- the L1's share of lookups fell and round trips to the shared cache per request rose: each
  instance's L1 sees 1/N of the traffic (`l1_cache`);
- invalidation messages applied per request rose: every instance applies every instance's
  writes (`invalidations`);
- database queries per request rose: more lookups fell through (`database`);
- the throttled share of CFS periods rose by 10 points: CFS stalls (`throttling`);
- programs outside the measurement took 0.25 core more: the host's cores, not the fleet
  (`machine`; the machine's busy share alone is no cause, the fleet fills it as N grows);
- cache errors per request more than doubled: a throttled instance tripped the Redis timeout
  (`cache_errors`).

A round trip's share of the rise is estimated at redis-py's 0.15 to 0.25 ms of client CPU per
command (docs/benchmarks.md); when even the upper bound covers less than half the rise, the
finding says so. The verdict is `candidates`: what moved with the demand is named, not
proven (a run with the suspect switched off tells, e.g. `LOADCAP_LOCAL_CACHE_ENTRIES=0`: on
this machine invalidations and queries per request rose as much with the L1 off while the
demand stayed flat, docs/scaleout.md). When nothing moved the verdict is `unexplained`: the
figures do not support a cause, and none is asserted.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from capacity.scaleout_evidence import db_queries_per_request
from rundir.scaleout_json import (
    ROLE_SHARED,
    ScaleoutBend,
    ScaleoutEvidence,
    ScaleoutPoint,
    ScaleoutTier,
)

DEMAND_RISE = 0.10  # a rise smaller than this is within what a shared machine moves
L1_FALL = 0.05  # the L1's share of lookups, absolute
PER_REQUEST_RISE = 0.02  # round trips, messages or queries per request, absolute
THROTTLED_RISE = 0.10  # share of CFS periods, absolute
OTHERS_RISE = 0.25  # cores taken by programs outside the measurement
ROUND_TRIP_CPU_MS = (0.15, 0.25)  # redis-py's client CPU per command (docs/benchmarks.md)
MOST = 0.5


def scaleout_bend(points: Sequence[ScaleoutPoint]) -> ScaleoutBend | None:
    """The instances' demand at the smallest and the largest N that measured it, and what
    moved with it; None with fewer than two such N."""
    measured = [p for p in points if _demand(p.tiers) is not None]
    if len(measured) < 2:
        return None
    low, high = measured[0], measured[-1]
    d_low, d_high = _demand(low.tiers), _demand(high.tiers)
    assert d_low is not None and d_high is not None
    change = d_high / d_low - 1.0 if d_low > 0 else 0.0
    beyond = _beyond_spread(low, high)
    busiest, share = _busiest_shared(high.tiers)
    bend = ScaleoutBend(
        from_instances=low.instances,
        to_instances=high.instances,
        demand_from_ms=d_low * 1000,
        demand_to_ms=d_high * 1000,
        demand_change=change,
        beyond_spread=beyond,
        busiest_shared_tier=busiest,
        busiest_shared_share=share,
    )
    head = (
        f"the instances' CPU per request went from {d_low * 1000:.2f} ms at N = {low.instances}"
        f" to {d_high * 1000:.2f} ms at N = {high.instances} ({change:+.0%})"
    )
    if change < DEMAND_RISE or not beyond:
        why = "within the repeats' spread" if change >= DEMAND_RISE else "less than 10 %"
        return _replace(bend, verdict="flat", sentence=f"{head}: {why}, so the instances' "
                        "work per request does not explain a bend")  # fmt: skip
    shared = (
        f"; the busiest shared tier, {busiest}, used {share:.0%} of its cores"
        if busiest is not None and share is not None
        else ""
    )
    causes, findings = _findings(low.evidence, high.evidence, d_high - d_low)
    where = f"{head}, beyond the repeats' spread{shared}: the curve bends inside the instances"
    if not causes:
        recorded = "no evidence recorded" if low.evidence is None else "none of the evidence moved"
        return _replace(bend, verdict="unexplained", sentence=f"{where}; unexplained: {recorded} "
                        "(L1 hits, round trips, invalidations, queries, throttling, the "
                        "machine's load)")  # fmt: skip
    return _replace(
        bend,
        verdict="candidates",
        causes=causes,
        findings=findings,
        sentence=f"{where}; what moved with it (candidates, not proven causes: measure with one "
        "switched off to tell): " + "; ".join(findings),
    )


def _replace(bend: ScaleoutBend, **changes: object) -> ScaleoutBend:
    return msgspec.structs.replace(bend, **changes)


def _findings(
    low: ScaleoutEvidence | None, high: ScaleoutEvidence | None, rise_s: float
) -> tuple[list[str], list[str]]:
    if low is None or high is None:
        return [], []
    causes: list[str] = []
    findings: list[str] = []

    def found(cause: str, text: str) -> None:
        causes.append(cause)
        findings.append(text)

    l1 = _moved(low.l1_hit_ratio, high.l1_hit_ratio)
    trips = _moved(low.round_trips_per_request, high.round_trips_per_request)
    if l1 is not None and trips is not None and -l1[2] >= L1_FALL and trips[2] >= PER_REQUEST_RISE:
        found("l1_cache", _l1_text(l1, trips, rise_s))
    messages = _moved(low.invalidations_per_request, high.invalidations_per_request)
    if messages is not None and messages[2] >= PER_REQUEST_RISE:
        found(
            "invalidations",
            f"invalidation messages applied per request rose from {messages[0]:.2f} to "
            f"{messages[1]:.2f} (every instance applies every instance's writes)",
        )
    queries = _moved(db_queries_per_request(low), db_queries_per_request(high))
    if queries is not None and queries[2] >= PER_REQUEST_RISE:
        found(
            "database",
            f"database queries per request rose from {queries[0]:.2f} to {queries[1]:.2f}",
        )
    throttled = _moved(low.throttled_share, high.throttled_share)
    if throttled is not None and throttled[2] >= THROTTLED_RISE:
        found(
            "throttling",
            f"the instances were throttled in {throttled[1]:.0%} of their CFS periods, "
            f"against {throttled[0]:.0%}",
        )
    others = _moved(low.others_cores, high.others_cores)
    # A busy machine alone is no cause: the fleet itself fills it as N grows.
    if others is not None and others[2] >= OTHERS_RISE:
        found("machine", _machine_text(high, others))
    errors = _moved(_per_request(low.cache_errors, low), _per_request(high.cache_errors, high))
    if errors is not None and errors[1] > 0 and errors[1] > 2 * errors[0]:
        found(
            "cache_errors",
            f"cache errors rose from {errors[0] * 1000:.1f} to {errors[1] * 1000:.1f} per "
            "1,000 requests (a throttled instance trips the Redis timeout)",
        )
    return causes, findings


def _l1_text(
    l1: tuple[float, float, float], trips: tuple[float, float, float], rise_s: float
) -> str:
    low_ms, high_ms = (trips[2] * cost for cost in ROUND_TRIP_CPU_MS)
    rise_ms = rise_s * 1000
    share = high_ms / rise_ms if rise_ms > 0 else 0.0
    account = "most of the rise" if share >= MOST else f"at most {min(share, 1.0):.0%} of the rise"
    return (
        f"the L1 served {l1[0]:.0%} of cache lookups, then {l1[1]:.0%}, so round trips to "
        f"the shared cache rose from {trips[0]:.2f} to {trips[1]:.2f} per request (each "
        f"instance's L1 sees 1/N of the traffic); at {ROUND_TRIP_CPU_MS[0]:g} to "
        f"{ROUND_TRIP_CPU_MS[1]:g} ms of client CPU per round trip that is {low_ms:.2f} to "
        f"{high_ms:.2f} of the {rise_ms:.2f} ms rise: {account}"
    )


def _machine_text(high: ScaleoutEvidence, others: tuple[float, float, float]) -> str:
    busy = f" (the machine {high.machine_busy:.0%} busy)" if high.machine_busy else ""
    return (
        f"programs outside the measurement used {others[1]:.2f} cores, against "
        f"{others[0]:.2f}{busy}: the host's cores were shared"
    )


def _moved(low: float | None, high: float | None) -> tuple[float, float, float] | None:
    if low is None or high is None:
        return None
    return low, high, high - low


def _per_request(count: float, evidence: ScaleoutEvidence) -> float | None:
    return count / evidence.requests if evidence.requests > 0 else None


def _demand(tiers: Sequence[ScaleoutTier]) -> float | None:
    fleet = next((t for t in tiers if t.name == "instances"), None)
    if fleet is None:
        return None
    if fleet.cpu_s_per_request is None and fleet.cpu_s is not None and fleet.requests:
        return fleet.cpu_s / fleet.requests
    return fleet.cpu_s_per_request


def _beyond_spread(low: ScaleoutPoint, high: ScaleoutPoint) -> bool:
    """Every repeat at the larger N above every repeat at the smaller (with one repeat on
    each side there is no spread to be beyond: the rise alone decides)."""
    lows = [d for r in low.repeats if (d := _demand(r.tiers)) is not None]
    highs = [d for r in high.repeats if (d := _demand(r.tiers)) is not None]
    if not lows or not highs:
        return True
    return min(highs) > max(lows)


def _busiest_shared(tiers: Sequence[ScaleoutTier]) -> tuple[str | None, float | None]:
    shares = [
        (t.cores_used / t.cores_available, t.name)
        for t in tiers
        if t.role == ROLE_SHARED and t.cores_used is not None and t.cores_available
    ]
    if not shares:
        return None, None
    share, name = max(shares)
    return name, share
