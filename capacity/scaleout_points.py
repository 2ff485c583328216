"""From the repeats a scale-out measured to one point per instance count.

A point is the median of its repeats with their range; its first limit is the repeats' most
common verdict (a tie goes to the limit that is not the instances: a point half limited by
something else is not the instances' capacity); its tiers are pooled over the repeats, so a
tier's demand is its CPU seconds over all of them divided by all their requests.

Efficiency is C(N)/N = X(N) / (N · X(1)). A point is superlinear when even its slowest repeat
beats N times the fastest repeat at N = 1: beyond the spread, not beyond one lucky run. With a
single repeat on either side there is no spread, and `SINGLE_REPEAT_MARGIN` stands in for it.
`superlinear_cause` names what the measurements show (see `capacity/superlinear.py`).
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

import msgspec

from capacity.scaleout_evidence import pooled_evidence
from capacity.superlinear import superlinear_cause
from rundir.scaleout_json import (
    INSTANCES_LIMIT,
    NodeConnections,
    ScaleoutPoint,
    ScaleoutRepeat,
    ScaleoutSpread,
    ScaleoutTier,
)

SINGLE_REPEAT_MARGIN = 0.05  # efficiency above 1.05 is superlinear when there is no spread


def measured_points(repeats: Iterable[ScaleoutRepeat]) -> list[ScaleoutPoint]:
    """One point per instance count, in order of N, with efficiency and superlinear flags."""
    by_n: dict[int, list[ScaleoutRepeat]] = defaultdict(list)
    for repeat in repeats:
        by_n[repeat.instances].append(repeat)
    points = [_point(n, by_n[n]) for n in sorted(by_n)]
    single = next((p for p in points if p.instances == 1), None)
    return [_with_efficiency(point, single) for point in points]


def _point(instances: int, repeats: Sequence[ScaleoutRepeat]) -> ScaleoutPoint:
    throughputs = [r.throughput_rps for r in repeats]
    limit, reason = _first_limit(repeats)
    return ScaleoutPoint(
        instances=instances,
        throughput_rps=statistics.median(throughputs),
        repeats=sorted(repeats, key=lambda r: (r.sequence is None, r.sequence or 0)),
        spread=ScaleoutSpread(
            min_rps=min(throughputs), max_rps=max(throughputs), repeats=len(repeats)
        ),
        first_limit=limit,
        fitted=limit == INSTANCES_LIMIT,
        reason=reason,
        tiers=pooled_tiers(r.tiers for r in repeats),
        connections=_most_connections(r.connections for r in repeats),
        evidence=pooled_evidence(r.evidence for r in repeats),
    )


def _first_limit(repeats: Sequence[ScaleoutRepeat]) -> tuple[str | None, str | None]:
    """The repeats' most common verdict and, unless it is the instances, why it is not fitted."""
    votes = Counter(r.first_limit for r in repeats)
    top = max(votes.values())
    tied = [limit for limit, count in votes.items() if count == top]
    limit = next((lim for lim in tied if lim != INSTANCES_LIMIT), tied[0])
    if limit == INSTANCES_LIMIT:
        return limit, None
    evidence = next(
        (r.limit_reason for r in repeats if r.first_limit == limit and r.limit_reason), None
    )
    if limit is None:
        what = "no verdict was recorded for it (the instances are not known to be the limit)"
    elif limit == "none":
        what = "nothing saturated: the instances were not driven to their limit (a lower bound)"
    else:
        what = f"{limit} hit its limit before the instances"
    where = f" in {votes[limit]} of {len(repeats)} repeats" if len(repeats) > 1 else ""
    return limit, f"{what}{where}" + (f": {evidence}" if evidence else "")


def pooled_tiers(tier_lists: Iterable[Sequence[ScaleoutTier]]) -> list[ScaleoutTier]:
    """Each tier over several windows: CPU, requests and throttling summed, cores averaged,
    demand = all its CPU seconds / all the requests (the mean demand when those are missing)."""
    by_name: dict[str, list[ScaleoutTier]] = defaultdict(list)
    for tiers in tier_lists:
        for tier in tiers:
            by_name[tier.name].append(tier)
    return [_pooled(windows) for windows in by_name.values()]


def _pooled(windows: Sequence[ScaleoutTier]) -> ScaleoutTier:
    cpu_s = _sum(w.cpu_s for w in windows)
    requests = _sum(w.requests for w in windows)
    complete = all(w.cpu_s is not None and w.requests for w in windows)
    if complete and cpu_s is not None and requests:
        demand: float | None = cpu_s / requests
    else:
        demand = _mean(w.cpu_s_per_request for w in windows)
    throttled = [w.nr_throttled for w in windows if w.nr_throttled is not None]
    available = [w.cores_available for w in windows if w.cores_available is not None]
    return ScaleoutTier(
        name=windows[0].name,
        role=windows[0].role,
        cores_used=_mean(w.cores_used for w in windows),
        cores_available=max(available) if available else None,
        cpu_s=cpu_s,
        requests=requests,
        cpu_s_per_request=demand,
        nr_throttled=sum(throttled) if throttled else None,
        throttled_s=_sum(w.throttled_s for w in windows),
    )


def _most_connections(lists: Iterable[Sequence[NodeConnections]]) -> list[NodeConnections]:
    """Per node, the repeat that had the most connections open (the one to check)."""
    most: dict[str, NodeConnections] = {}
    for connections in lists:
        for node in connections:
            seen = most.get(node.node)
            if seen is None or (node.threads_connected or 0) > (seen.threads_connected or 0):
                most[node.node] = node
    return list(most.values())


def _with_efficiency(point: ScaleoutPoint, single: ScaleoutPoint | None) -> ScaleoutPoint:
    if single is None or single.throughput_rps <= 0:
        return point
    efficiency = point.throughput_rps / (point.instances * single.throughput_rps)
    if point.instances == 1 or not is_superlinear(point, single):
        return msgspec.structs.replace(point, efficiency=efficiency)
    return msgspec.structs.replace(
        point,
        efficiency=efficiency,
        superlinear=True,
        superlinear_cause=superlinear_cause(point, single),
    )


def is_superlinear(point: ScaleoutPoint, single: ScaleoutPoint) -> bool:
    """C(N)/N > 1 beyond the spread: the slowest repeat at N beats N x the fastest at N = 1."""
    if point.spread is None or single.spread is None:
        return False
    if point.spread.repeats > 1 and single.spread.repeats > 1:
        return point.spread.min_rps > point.instances * single.spread.max_rps
    efficiency = point.throughput_rps / (point.instances * single.throughput_rps)
    return efficiency > 1.0 + SINGLE_REPEAT_MARGIN


def _sum(values: Iterable[float | int | None]) -> float | None:
    present = [float(v) for v in values if v is not None]
    return sum(present) if present else None


def _mean(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.fmean(present) if present else None
