"""Server-side facts are differences between `/metrics` snapshots, not raw counter values."""

from __future__ import annotations

import pandas as pd
import pytest
from prometheus_client import generate_latest

from reports import service_metrics
from reports.prom import parse_exposition
from target_service.metrics import ServiceMetrics


def _frame(snapshots: list[tuple[float, str]]) -> pd.DataFrame:
    rows = [
        {
            "timestamp": t,
            "elapsed_s": t,
            "phase": "during",
            "sample": name,
            "value": value,
            **labels,
        }
        for t, text in snapshots
        for name, labels, value in parse_exposition(text)
    ]
    return pd.DataFrame(rows)


def _take(metrics: ServiceMetrics) -> str:
    return generate_latest(metrics.registry).decode()


def test_counters_are_differenced_so_requests_before_the_run_do_not_count() -> None:
    metrics = ServiceMetrics()
    metrics.db_queries.labels("master", "write").inc(1000)  # before the run started
    first = _take(metrics)
    metrics.db_queries.labels("master", "write").inc(5)
    metrics.db_queries.labels("replica0", "read").inc(40)
    frame = _frame([(0.0, first), (5.0, _take(metrics))])

    assert service_metrics.queries_by_pool(frame) == {"master": 5, "replica0": 40}


def test_replica_read_share_counts_reads_only() -> None:
    metrics = ServiceMetrics()
    metrics.db_queries.labels("master", "read").inc(1_000)  # before the run
    first = _take(metrics)
    metrics.db_queries.labels("master", "read").inc(10)
    metrics.db_queries.labels("master", "write").inc(500)
    metrics.db_queries.labels("master", "position").inc(300)
    metrics.db_queries.labels("replica0", "read").inc(60)
    metrics.db_queries.labels("replica1", "read").inc(30)
    metrics.db_queries.labels("replica1", "position").inc(30)
    frame = _frame([(0.0, first), (5.0, _take(metrics))])

    assert service_metrics.replica_read_share(frame) == pytest.approx(0.9)


def test_replica_query_ms_is_read_seconds_over_replica_reads() -> None:
    metrics = ServiceMetrics()
    first = _take(metrics)
    metrics.db_queries.labels("replica0", "read").inc(300)
    metrics.db_queries.labels("replica1", "read").inc(100)
    metrics.db_queries.labels("replica1", "position").inc(100)  # GTID waits: not timed
    metrics.db_read_seconds.labels("replica0").inc(0.5)
    metrics.db_read_seconds.labels("replica1").inc(0.3)
    metrics.db_read_seconds.labels("master").inc(9.0)
    frame = _frame([(0.0, first), (5.0, _take(metrics))])

    assert service_metrics.replica_query_ms(frame) == pytest.approx(2.0)  # 0.8 s / 400 reads
    assert service_metrics.replica_query_ms(_frame([(0.0, first), (5.0, first)])) is None


def test_replica_read_share_is_unknown_without_replicas() -> None:
    metrics = ServiceMetrics()
    first = _take(metrics)
    metrics.db_queries.labels("master", "read").inc(10)
    assert service_metrics.replica_read_share(_frame([(0.0, first), (5.0, _take(metrics))])) is None


def test_a_counter_that_drops_is_a_restart_and_its_new_value_is_the_increase() -> None:
    counters = pd.DataFrame({"total": [100.0, 150.0, 20.0, 50.0]}, index=[0.0, 1.0, 2.0, 3.0])

    assert service_metrics.increases(counters)["total"].tolist() == [0.0, 50.0, 20.0, 30.0]


def test_cache_hit_ratio_comes_from_lookups_during_the_run() -> None:
    metrics = ServiceMetrics()
    metrics.cache_requests.labels("profile", "miss").inc(500)
    first = _take(metrics)
    metrics.cache_requests.labels("profile", "hit").inc(70)
    metrics.cache_requests.labels("profile", "miss").inc(30)
    frame = _frame([(0.0, first), (5.0, _take(metrics))])

    assert service_metrics.cache_hit_ratio(frame) == pytest.approx(0.7)
    over_time = service_metrics.cache_hit_ratio_over_time(frame)
    assert over_time["profile"].iloc[-1] == pytest.approx(0.7)


def test_cache_hit_ratio_is_unknown_without_lookups() -> None:
    metrics = ServiceMetrics()
    metrics.db_pool_size.labels("master").set(10)
    frame = _frame([(0.0, _take(metrics)), (5.0, _take(metrics))])

    assert service_metrics.cache_hit_ratio(frame) is None


def test_server_p95_interpolates_inside_the_histogram_bucket() -> None:
    metrics = ServiceMetrics()
    first = _take(metrics)
    for _ in range(100):  # all between the 50 ms and 75 ms bounds
        metrics.http_latency.labels("GET", "/api/profiles").observe(0.06)
    frame = _frame([(0.0, first), (10.0, _take(metrics))])

    p95 = service_metrics.latency_quantile(frame, 0.95, start_s=0.0, end_s=10.0)

    assert p95 == pytest.approx(50 + 25 * 0.95)


def test_status_rates_group_429_apart_from_other_client_errors() -> None:
    metrics = ServiceMetrics()
    first = _take(metrics)
    metrics.http_requests.labels("GET", "/api/profiles", "200").inc(100)
    metrics.http_requests.labels("GET", "/api/profiles", "429").inc(20)
    metrics.http_requests.labels("GET", "/api/profile/{id}", "404").inc(10)
    metrics.http_requests.labels("GET", "/api/profile/{id}", "503").inc(10)
    frame = _frame([(0.0, first), (10.0, _take(metrics))])

    rates = service_metrics.status_rates(frame).iloc[-1]

    assert rates.to_dict() == {"2xx": 10.0, "429": 2.0, "4xx": 1.0, "5xx": 1.0}


def test_pool_usage_reports_the_peak_against_the_pool_size() -> None:
    metrics = ServiceMetrics()
    metrics.db_pool_size.labels("master").set(10)
    metrics.db_pool_in_use.labels("master").set(4)
    first = _take(metrics)
    metrics.db_pool_in_use.labels("master").set(10)
    frame = _frame([(0.0, first), (5.0, _take(metrics))])

    in_use, size = service_metrics.pool_usage(frame)

    assert in_use["master"].tolist() == [4.0, 10.0]
    assert size["master"] == 10.0
