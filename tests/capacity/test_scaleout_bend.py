"""Why a scale-out's curve bends: the instances' CPU per request between the smallest and the
largest N, and the evidence that moved with it (`capacity/scaleout_bend.py`), on small
synthetic documents."""

from __future__ import annotations

import pytest

from capacity.scaleout import analyse_scaleout
from capacity.scaleout_evidence import pooled_evidence, window_evidence
from rundir.scaleout_json import ScaleoutEvidence, ScaleoutRepeat, ScaleoutSettings, ScaleoutTier

SETTINGS = ScaleoutSettings(instances=[1, 2, 3, 4], cpu_per_instance=0.15)


def evidence(
    requests: float = 10_000.0,
    *,
    l1_share: float = 0.8,
    invalidations: float = 1_000.0,
    queries: float = 1_500.0,
    throttled: float = 0.4,
    machine: float = 0.6,
    others: float = 0.3,
) -> ScaleoutEvidence:
    lookups = 0.85 * requests
    return window_evidence(
        seconds=20.0,
        requests=requests,
        cache_hits=0.95 * lookups,
        cache_misses=0.05 * lookups,
        local_hits=l1_share * lookups,
        invalidations=invalidations,
        db_queries={"master": 0.1 * queries, "replica0": 0.9 * queries},
        cfs_periods=2000.0,
        throttled_periods=throttled * 2000.0,
        machine_busy=machine,
        others_cores=others,
    )


def repeat(n: int, demand_ms: float, proof: ScaleoutEvidence | None) -> ScaleoutRepeat:
    requests = proof.requests if proof is not None else 10_000.0
    cpu_s = demand_ms / 1000 * requests
    tiers = [
        ScaleoutTier(
            name="instances", role="instances", cores_used=0.15 * n, cores_available=0.15 * n,
            cpu_s=cpu_s, requests=requests, cpu_s_per_request=cpu_s / requests,
        ),
        ScaleoutTier(
            name="redis", role="shared", cores_used=0.05, cores_available=1.0,
            cpu_s=1.0, requests=requests, cpu_s_per_request=1.0 / requests,
        ),
    ]  # fmt: skip
    x = 266.0 * n / (1 + 0.1 * (n - 1))
    return ScaleoutRepeat(
        instances=n, throughput_rps=x, first_limit="instances", tiers=tiers, evidence=proof
    )


def test_a_rising_demand_with_a_falling_l1_is_attributed_to_the_l1() -> None:
    shares = {1: 0.80, 2: 0.65, 3: 0.55, 4: 0.45}
    repeats = [
        repeat(n, demand, evidence(l1_share=shares[n]))
        for n, demand in ((1, 0.56), (2, 0.60), (3, 0.66), (4, 0.74))
    ]
    bend = analyse_scaleout(repeats, SETTINGS).bend
    assert bend is not None and bend.verdict == "candidates"
    assert bend.causes == ["l1_cache"]
    assert bend.demand_change == pytest.approx(0.74 / 0.56 - 1)
    assert "80% of cache lookups, then 45%" in bend.sentence
    assert bend.busiest_shared_tier == "redis"
    # 0.85 x 0.35 = 0.30 more round trips per request: 0.045-0.074 ms of a 0.18 ms rise.
    assert "at most 41% of the rise" in bend.sentence


def test_a_rising_demand_with_nothing_moving_is_unexplained() -> None:
    # The machine busier at N = 4 is no cause by itself: the fleet fills it as N grows.
    repeats = [
        repeat(n, d, evidence(machine=0.6 + 0.1 * n)) for n, d in ((1, 0.56), (2, 0.62), (4, 0.74))
    ]
    bend = analyse_scaleout(repeats, SETTINGS).bend
    assert bend is not None and bend.verdict == "unexplained" and bend.causes == []
    assert "unexplained" in bend.sentence and "inside the instances" in bend.sentence


def test_each_kind_of_evidence_is_named_when_it_moves() -> None:
    small = evidence(invalidations=1_000, queries=1_500, throttled=0.3, others=0.2)
    large = evidence(invalidations=4_000, queries=2_500, throttled=0.6, machine=0.95, others=0.8)
    bend = analyse_scaleout([repeat(1, 0.5, small), repeat(4, 0.7, large)], SETTINGS).bend
    assert bend is not None
    assert bend.causes == ["invalidations", "database", "throttling", "machine"]
    assert "from 0.10 to 0.40" in bend.findings[0]


def test_a_flat_demand_or_one_within_the_spread_explains_no_bend() -> None:
    flat = [repeat(1, 0.56, evidence()), repeat(4, 0.58, evidence(l1_share=0.4))]
    bend = analyse_scaleout(flat, SETTINGS).bend
    assert bend is not None and bend.verdict == "flat" and bend.causes == []
    noisy = [
        repeat(1, 0.50, evidence()), repeat(1, 0.70, evidence()),
        repeat(4, 0.62, evidence()), repeat(4, 0.66, evidence()),
    ]  # fmt: skip
    bend = analyse_scaleout(noisy, SETTINGS).bend
    assert bend is not None and bend.verdict == "flat" and not bend.beyond_spread


def test_documents_without_evidence_still_say_where_the_demand_went() -> None:
    bend = analyse_scaleout([repeat(1, 0.5, None), repeat(3, 0.7, None)], SETTINGS).bend
    assert bend is not None and bend.verdict == "unexplained"
    assert "no evidence recorded" in bend.sentence
    assert analyse_scaleout([repeat(1, 0.5, None)], SETTINGS).bend is None


def test_a_point_pools_its_repeats_counts_not_their_ratios() -> None:
    first = evidence(10_000.0, l1_share=0.8, throttled=0.2, machine=0.5)
    second = evidence(30_000.0, l1_share=0.4, throttled=0.6, machine=0.9)
    pooled = pooled_evidence([first, None, second])
    assert pooled is not None
    assert pooled.requests == 40_000.0
    assert pooled.l1_hit_ratio == pytest.approx((0.8 * 10 + 0.4 * 30) / 40)
    assert pooled.throttled_share == pytest.approx(0.4)  # same periods each
    assert pooled.machine_busy == pytest.approx(0.7)  # same window length each
    # 3,000 queries (1,500 each) over 40,000 requests, a tenth of them on the master
    assert pooled.db_queries_per_request == pytest.approx({"master": 0.0075, "replica0": 0.0675})
    assert pooled_evidence([None]) is None
