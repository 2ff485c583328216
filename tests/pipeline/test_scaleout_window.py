"""What a scale-out point's window concludes: who limited it (instances, Locust, a shared
server, the machine, errors), the fleet's requests across a restarted instance, and the order
the repeats run in."""

from __future__ import annotations

from pathlib import Path

from pipeline.fleet_counters import FleetCounters, counters_delta, parse_counters
from pipeline.scaleout_settings import ScaleoutSettings
from pipeline.scaleout_verdict import first_limit
from pipeline.scaleout_window import WindowFacts
from rundir.scaleout_json import ScaleoutTier


def facts(
    *,
    instances: float,
    cap: float = 0.3,
    throttled: int | None = None,
    generator: float = 0.3,
    nginx: float = 0.1,
    machine: float | None = 0.5,
) -> WindowFacts:
    tiers = [
        ScaleoutTier(
            name="instances", role="instances", cores_used=instances, cores_available=cap,
            nr_throttled=throttled,
        ),
        ScaleoutTier(name="nginx", role="shared", cores_used=nginx, cores_available=1.0),
        ScaleoutTier(name="master", role="shared", cores_used=0.1, cores_available=2.0),
    ]  # fmt: skip
    return WindowFacts(10.0, 5000.0, 0.0, 2, tiers, generator, machine_busy=machine)


def judged(window: WindowFacts, error_rate: float = 0.0) -> str:
    return first_limit(window, error_rate=error_rate, instances=2, period_us=10_000)[0]


def test_instances_at_their_caps_are_the_limit() -> None:
    assert judged(facts(instances=0.29)) == "instances"


def test_instances_throttled_in_most_periods_are_the_limit() -> None:
    # 2 instances x 10 s at 100 periods a second: 2,000 periods, 1,500 throttled.
    assert judged(facts(instances=0.2, throttled=1500)) == "instances"


def test_a_busy_locust_process_below_the_caps_is_the_generator() -> None:
    assert judged(facts(instances=0.15, generator=0.95)) == "load_generator"


def test_a_saturated_shared_server_is_named() -> None:
    assert judged(facts(instances=0.15, nginx=0.97)) == "nginx"


def test_a_full_machine_is_the_limit_when_no_tier_is() -> None:
    limit, reason = first_limit(
        facts(instances=0.15, machine=0.99), error_rate=0.0, instances=2, period_us=10_000
    )
    assert limit == "machine" and "99% busy" in reason


def test_errors_come_before_everything() -> None:
    assert judged(facts(instances=0.29), error_rate=0.05) == "errors"


def test_nothing_saturated_says_none() -> None:
    assert judged(facts(instances=0.1)) == "none"


def test_a_restarted_instance_counts_from_zero_and_a_silent_one_not_at_all() -> None:
    before = {"a": FleetCounters(100.0, 0.0, 1.0), "b": FleetCounters(500.0, 1.0, 2.0), "c": None}
    after = {"a": FleetCounters(160.0, 0.0, 1.5), "b": FleetCounters(40.0, 0.0, 0.2), "c": None}
    total, answered = counters_delta(before, after)
    assert (total.requests, answered) == (100.0, 2)


def test_probes_and_scrapes_are_not_the_workload() -> None:
    text = (
        'loadcap_http_requests_total{method="GET",route="/health",status="200"} 9.0\n'
        'loadcap_http_requests_total{method="GET",route="/metrics",status="200"} 9.0\n'
        'loadcap_http_requests_total{method="PATCH",route="/api/profile/{id}",status="200"} 4.0\n'
        "process_cpu_seconds_total 3.5\n"
    )
    assert parse_counters(text) == FleetCounters(4.0, 0.0, 3.5)


def test_repeats_run_in_serpentine_order() -> None:
    settings = ScaleoutSettings(out_dir=Path("x"), instances=(3, 1, 2), repeat=3)
    assert [n for n, _ in settings.schedule] == [1, 2, 3, 3, 2, 1, 1, 2, 3]


def test_the_cache_and_database_counters_are_read_by_kind() -> None:
    text = (
        'loadcap_cache_requests_total{kind="profile",result="hit"} 80.0\n'
        'loadcap_cache_requests_total{kind="list",result="miss"} 20.0\n'
        'loadcap_cache_requests_created{kind="list",result="miss"} 1.7e9\n'
        'loadcap_local_cache_hits_total{kind="profile"} 60.0\n'
        "loadcap_cache_invalidations_received_total 7.0\n"
        'loadcap_db_queries_total{pool="master",kind="write"} 5.0\n'
        'loadcap_db_queries_total{pool="replica0",kind="read"} 15.0\n'
        'loadcap_db_queries_total{pool="replica0",kind="position"} 1.0\n'
    )
    later = parse_counters(text)
    earlier = FleetCounters(0.0, 0.0, cache_hits=30.0, local_hits=20.0, db_queries={"master": 1})
    delta = later - earlier
    assert (delta.cache_hits, delta.cache_misses, delta.local_hits) == (50.0, 20.0, 40.0)
    assert delta.invalidations == 7.0
    assert dict(delta.db_queries) == {"master": 4.0, "replica0": 16.0}
