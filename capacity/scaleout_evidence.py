"""What the instances did per request over a window (`ScaleoutEvidence`): built from the
counts the engine read, and pooled over a point's repeats. Pure: counts in, ratios out.

The ratios are the ones that may make an instance's CPU per request change with N: the share
of cache lookups its in-process L1 served (an L1 hit costs no round trip), the round trips to
the shared cache per request, the invalidation messages it applied per request (every
instance applies every instance's writes, so the fleet applies N times as many), the
database queries per request by pool, the share of CFS periods it was throttled in, and how
busy the machine was.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import msgspec

from rundir.scaleout_json import ScaleoutEvidence


def window_evidence(
    *,
    seconds: float,
    requests: float,
    cache_hits: float,
    cache_misses: float,
    local_hits: float,
    cache_errors: float = 0.0,
    invalidations: float = 0.0,
    db_queries: Mapping[str, float] | None = None,
    cfs_periods: float | None = None,
    throttled_periods: float | None = None,
    machine_busy: float | None = None,
    others_cores: float | None = None,
) -> ScaleoutEvidence:
    """One window's evidence from the fleet's counter deltas (every instance summed)."""
    evidence = ScaleoutEvidence(
        seconds=seconds,
        requests=requests,
        cache_lookups=cache_hits + cache_misses,
        l1_hits=local_hits,
        shared_hits=max(0.0, cache_hits - local_hits),
        cache_misses=cache_misses,
        cache_errors=cache_errors,
        invalidations=invalidations,
        db_queries=dict(db_queries or {}),
        cfs_periods=cfs_periods,
        throttled_periods=throttled_periods,
        machine_busy=machine_busy,
        others_cores=others_cores,
    )
    return with_ratios(evidence)


def with_ratios(evidence: ScaleoutEvidence) -> ScaleoutEvidence:
    """The derived fields, recomputed from the counts."""
    e = evidence
    reached = e.shared_hits + e.cache_misses
    return msgspec.structs.replace(
        e,
        l1_hit_ratio=_ratio(e.l1_hits, e.cache_lookups),
        shared_hit_ratio=_ratio(e.shared_hits, reached),
        round_trips_per_request=_ratio(reached, e.requests),
        invalidations_per_request=_ratio(e.invalidations, e.requests),
        db_queries_per_request={
            pool: count / e.requests for pool, count in e.db_queries.items() if e.requests > 0
        },
        throttled_share=(
            _ratio(e.throttled_periods, e.cfs_periods)
            if e.throttled_periods is not None and e.cfs_periods is not None
            else None
        ),
    )


def pooled_evidence(evidence: Iterable[ScaleoutEvidence | None]) -> ScaleoutEvidence | None:
    """A point's evidence: the counts of its repeats added up (the machine's load weighted
    by each window's length); None when no repeat carries any."""
    found = [e for e in evidence if e is not None]
    if not found:
        return None
    pools = sorted({pool for e in found for pool in e.db_queries})
    seconds = sum(e.seconds for e in found)
    return with_ratios(
        ScaleoutEvidence(
            seconds=seconds,
            requests=sum(e.requests for e in found),
            cache_lookups=sum(e.cache_lookups for e in found),
            l1_hits=sum(e.l1_hits for e in found),
            shared_hits=sum(e.shared_hits for e in found),
            cache_misses=sum(e.cache_misses for e in found),
            cache_errors=sum(e.cache_errors for e in found),
            invalidations=sum(e.invalidations for e in found),
            db_queries={pool: sum(e.db_queries.get(pool, 0.0) for e in found) for pool in pools},
            cfs_periods=_sum_known([e.cfs_periods for e in found]),
            throttled_periods=_sum_known([e.throttled_periods for e in found]),
            machine_busy=_weighted([(e.machine_busy, e.seconds) for e in found]),
            others_cores=_weighted([(e.others_cores, e.seconds) for e in found]),
        )
    )


def db_queries_per_request(evidence: ScaleoutEvidence) -> float | None:
    """Every pool's queries per request together."""
    if not evidence.db_queries_per_request:
        return None
    return sum(evidence.db_queries_per_request.values())


def _ratio(part: float | None, whole: float | None) -> float | None:
    if part is None or not whole:
        return None
    return part / whole


def _sum_known(values: Sequence[float | None]) -> float | None:
    if any(value is None for value in values):
        return None
    return sum(value for value in values if value is not None)


def _weighted(pairs: Sequence[tuple[float | None, float]]) -> float | None:
    known = [(value, weight) for value, weight in pairs if value is not None]
    total = sum(weight for _, weight in known)
    if not known or total <= 0:
        return None
    return sum(value * weight for value, weight in known) / total
