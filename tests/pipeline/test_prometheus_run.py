"""A real Prometheus scrapes the service and the Locust master during a short load: PromQL
agrees with loadcap's own summary; `--prometheus-url` gives the fleet's figures.

Everything here is real: the reference service in subprocesses, nginx in front of two of
them, Locust with its web UI's /metrics, and Debian's Prometheus scraping every second.
"""

from __future__ import annotations

import itertools
import json
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from cli import app
from loadtests.errors import LoadTestError
from loadtests.live_capacity import parse_service_samples
from pipeline.runner import RunSettings, run_load_test
from reports.load import load_run_data, run_start
from reports.report import write_report
from reports.service_metrics import snapshot_times
from rundir.exposition import parse_samples
from target_service.process import ServiceProcess, free_port
from tests.fixtures.nginx_server import NginxServer
from tests.fixtures.prometheus_server import SCRAPE_INTERVAL_S, Jobs, PrometheusServer

PROFILES = 1_000
LOAD_ROUTES = 'route!~"/metrics|/health"'
# The service's and Locust's histogram bounds (seconds) around the 100 ms SLO.
BOUNDS_S = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.125, 0.15, 0.2, 0.25, 0.5, 1.0, 2.5, 5.0)

StartPrometheus = Callable[[Jobs], PrometheusServer]
StartNginx = Callable[[Sequence[int]], NginxServer]


@contextmanager
def instances(count: int) -> Iterator[list[ServiceProcess]]:
    with ExitStack() as stack:
        yield [stack.enter_context(ServiceProcess(profiles=PROFILES)) for _ in range(count)]


def _run(out: Path, host: str, **settings: Any) -> dict[str, Any]:
    outcome = run_load_test(
        RunSettings(
            out_dir=out,
            host=host,
            users=4,
            spawn_rate=4.0,
            duration_s=8.0,
            id_count=PROFILES,
            metrics_interval_s=1.0,
            **settings,
        )
    )
    assert (out / "locust_stats.csv").exists(), outcome.message
    write_report(out)
    summary: dict[str, Any] = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    return summary


def _bucket(value_s: float) -> tuple[float, float]:
    """The histogram bucket (lower, upper] that holds `value_s`."""
    lower = 0.0
    for upper in (*BOUNDS_S, float("inf")):
        if value_s <= upper:
            return lower, upper
        lower = upper
    raise AssertionError("unreachable")


def _service_counters(service: ServiceProcess) -> tuple[float, float]:
    """(CPU seconds, load requests) straight from one instance's /metrics."""
    samples = parse_samples(httpx.get(service.base_url + "/metrics", timeout=10).text)
    cpu = sum(s.value for s in samples if s.name == "process_cpu_seconds_total")
    served = sum(
        s.value
        for s in samples
        if s.name == "loadcap_http_requests_total"
        and s.labels["route"] not in ("/metrics", "/health")
    )
    return cpu, served


def test_promql_agrees_with_the_run_summary(
    tmp_path: Path, prometheus_server: StartPrometheus
) -> None:
    locust_port = free_port()
    with instances(1) as (service,):
        prometheus = prometheus_server(
            {"profiles": [f"127.0.0.1:{service.port}"], "locust": [f"127.0.0.1:{locust_port}"]}
        )
        prometheus.wait_for_scrape(after=time.time(), jobs=["profiles"])
        summary = _run(tmp_path / "run", service.base_url, locust_metrics_port=locust_port)
        _, served_after = _service_counters(service)
    api = prometheus.api

    # Locust's counters, as Prometheus last scraped them before Locust quit.
    requests = api.scalar("sum(max_over_time(locust_requests_total[1m]))")
    assert requests == summary["totals"]["requests"] > 0
    buckets = "max_over_time(locust_response_time_seconds_bucket[1m])"
    p95_s = api.scalar(f"histogram_quantile(0.95, sum by (le) ({buckets}))")
    assert p95_s is not None
    # The exact (HDR) p95 names the bucket; one within 2 % of a bound may sit on either side
    # of it (Locust's own p95 is rounded: 5.0 ms exactly is the 5 ms bound).
    totals = summary["totals"]
    exact_s = (totals.get("hdr") or {}).get("p95_ms", totals["p95_ms"]) / 1000
    lower, upper = _bucket(exact_s * 0.98)[0], _bucket(exact_s * 1.02)[1]
    assert lower <= p95_s <= upper, (p95_s, exact_s)

    # The service's CPU per request over the window the report used (its first and last
    # /metrics snapshot in the stage's second half), from Prometheus' scrapes alone. Scrapes
    # and snapshots are one second apart each and not aligned, so each end of the window is
    # bracketed by the scrapes on either side of it: the report's figure lies within 10 % of
    # the range those windows give (a busy machine's CPU per request varies second to second).
    data = load_run_data(tmp_path / "run")
    started = run_start(data.run, data.history)
    assert data.snapshots is not None and started is not None
    (stage,) = summary["use"]
    middle = (stage["start_s"] + stage["end_s"]) / 2
    opened, *_, closed = snapshot_times(data.snapshots, middle, stage["end_s"])
    cpu = 'sum(process_cpu_seconds_total{job="profiles"})'
    served = f'sum(loadcap_http_requests_total{{job="profiles", {LOAD_ROUTES}}})'
    demands = []
    for start, end in itertools.product(
        (opened, opened + SCRAPE_INTERVAL_S), (closed, closed + SCRAPE_INTERVAL_S)
    ):
        at = [started + t for t in (start, end)]
        (cpu0, cpu1), (req0, req1) = ([api.scalar(e, at=t) for t in at] for e in (cpu, served))
        assert None not in (cpu0, cpu1, req0, req1), (start, end)
        demands.append((cpu1 - cpu0) / (req1 - req0))  # type: ignore[operator]
    measured = summary["capacity"]["service_cpu_s_per_request"]
    assert min(demands) * 0.9 <= measured <= max(demands) * 1.1, (measured, demands)
    # And the last scrape saw every request the service counted.
    last = api.scalar(
        f'sum(max_over_time(loadcap_http_requests_total{{job="profiles", {LOAD_ROUTES}}}[1m]))'
    )
    assert last == served_after


def test_prometheus_url_gives_the_fleet_figures_of_two_instances(
    tmp_path: Path, prometheus_server: StartPrometheus, nginx_server: StartNginx
) -> None:
    with instances(2) as fleet:
        balancer = nginx_server([service.port for service in fleet])
        prometheus = prometheus_server(
            {"profiles": [f"127.0.0.1:{service.port}" for service in fleet]}
        )
        prometheus.wait_for_scrape(after=time.time())
        before = [_service_counters(service) for service in fleet]
        summary = _run(
            tmp_path / "fleet",
            balancer.base_url,
            prometheus_url=prometheus.url,
            prometheus_selector='{job="profiles"}',
        )
        after = [_service_counters(service) for service in fleet]

    run = json.loads((tmp_path / "fleet" / "run.json").read_text(encoding="utf-8"))
    assert run["prometheus_url"] == prometheus.url
    assert run["prometheus_selector"] == '{job="profiles"}'
    served = [a[1] - b[1] for a, b in zip(after, before, strict=True)]
    assert all(count > 0 for count in served), served  # nginx spread the load over both
    # The run's last snapshot is the two instances' sums, scraped after the load ended.
    end = sorted((tmp_path / "fleet" / "metrics").glob("*-end.prom"))[-1]
    snapshot = parse_samples(end.read_text(encoding="utf-8"))
    load = [s for s in snapshot if s.name == "loadcap_http_requests_total"]
    assert sum(s.value for s in load if s.labels["route"] not in ("/metrics", "/health")) == sum(
        a[1] for a in after
    )
    cpu = sum(s.value for s in snapshot if s.name == "process_cpu_seconds_total")
    assert cpu == pytest.approx(sum(a[0] for a in after), abs=0.1)  # idle since, bar scrapes
    assert [s.value for s in snapshot if s.name == "loadcap_fleet_instances"] == [2]
    # So the USE table and the service demand describe the fleet: both instances' cores.
    rows = summary["use"]
    assert rows and all(row["service_cores_available"] == 2 for row in rows), rows
    busiest = max(rows, key=lambda row: row["service_cores_used"] or 0)
    assert busiest["service_requests"] > 0
    demand = summary["capacity"]["service_cpu_s_per_request"]
    assert demand == pytest.approx(busiest["service_cpu_s"] / busiest["service_requests"])


def test_a_selector_matching_nothing_is_refused_before_the_load(
    tmp_path: Path, prometheus_server: StartPrometheus
) -> None:
    with instances(1) as (service,):
        prometheus = prometheus_server({"profiles": [f"127.0.0.1:{service.port}"]})
        prometheus.wait_for_scrape(after=time.time())
        settings = RunSettings(
            out_dir=tmp_path / "run",
            host=service.base_url,
            prometheus_url=prometheus.url,
            prometheus_selector='{job="nothing-here"}',
        )
        with pytest.raises(LoadTestError, match='no instance of \\{job="nothing-here"\\}'):
            run_load_test(settings)
    assert not (tmp_path / "run" / "locust_stats.csv").exists()


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--prometheus-url", "localhost:9090"], "--prometheus-url must be an http(s) URL"),
        (["--prometheus-selector", '{job="x"}'], "--prometheus-selector needs --prometheus-url"),
        (
            ["--prometheus-url", "http://127.0.0.1:9", "--prometheus-selector", "job=x"],
            "--prometheus-selector must be label matchers in braces",
        ),
        (
            ["--prometheus-url", "http://127.0.0.1:9", "--metrics-url", "http://127.0.0.1:9/m"],
            "--metrics-url and --prometheus-url are two sources",
        ),
        (
            ["--host", "http://127.0.0.1:9", "--prometheus-url", "http://127.0.0.1:9"],
            "Prometheus at http://127.0.0.1:9 unreachable",
        ),
    ],
)
def test_bad_prometheus_flags_are_one_line_and_exit_two(
    tmp_path: Path, flags: list[str], message: str
) -> None:
    result = CliRunner().invoke(app, ["run", "--out", str(tmp_path / "run"), *flags])

    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not (tmp_path / "run" / "locust_stats.csv").exists()


def test_the_capacity_tab_reads_a_fleet_through_prometheus_federation(
    prometheus_server: StartPrometheus,
) -> None:
    """compose's Locust master: `--metrics-url http://prometheus:9090/federate?match[]=...`,
    fetched the way the tab fetches (urllib, the URL as written in compose)."""
    with instances(2) as fleet:
        prometheus = prometheus_server(
            {"profiles": [f"127.0.0.1:{service.port}" for service in fleet]}
        )
        prometheus.wait_for_scrape(after=time.time())
        url = prometheus.url + '/federate?match[]={job="profiles"}'
        with urllib.request.urlopen(url, timeout=5) as response:
            samples = parse_service_samples(response.read().decode())

    assert set(samples) == {f"127.0.0.1:{service.port}" for service in fleet}
    assert all(s.at is not None and s.cores_available == 1 for s in samples.values())
