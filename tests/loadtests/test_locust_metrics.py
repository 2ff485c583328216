"""Locust's /metrics: counters and a histogram that add up across workers, and each
process's CPU; then the real thing, served by a Locust master with two worker processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from loadtests.prometheus_metrics import GeneratorState, RequestCounts, exposition
from pipeline.embedded import reference_service
from pipeline.runner import LOCUSTFILE
from rundir.exposition import Sample, parse_samples
from tests.fixtures.ports import free_port, wait_for_port

STATE = GeneratorState(users=7, workers=2, cpu_seconds={"master": 1.5, "worker-a": 12.25})


def _samples(counts: RequestCounts, state: GeneratorState = STATE) -> list[Sample]:
    return parse_samples(exposition(counts, lambda: state).decode())


def _value(samples: list[Sample], series: str, /, **labels: str) -> float:
    found = [s.value for s in samples if s.name == series and labels.items() <= s.labels.items()]
    assert len(found) == 1, (series, labels, found)
    return found[0]


def test_requests_failures_and_buckets_per_endpoint() -> None:
    counts = RequestCounts()
    for ms in (3.0, 40.0, 100.0, 100.5, 7000.0):
        counts.record("GET /api/profile/{id}", ms, failed=ms > 1000)
    counts.record("POST /api/profiles", 20.0, failed=False)

    samples = _samples(counts)

    by_id = {"method": "GET", "name": "/api/profile/{id}"}
    assert _value(samples, "locust_requests_total", **by_id) == 5
    assert _value(samples, "locust_failures_total", **by_id) == 1
    bucket = "locust_response_time_seconds_bucket"
    assert _value(samples, bucket, le="0.005", **by_id) == 1
    assert _value(samples, bucket, le="0.05", **by_id) == 2
    assert _value(samples, bucket, le="0.1", **by_id) == 3  # 100 ms is within the SLO bound
    assert _value(samples, bucket, le="0.125", **by_id) == 4
    assert _value(samples, bucket, le="5.0", **by_id) == 4
    assert _value(samples, bucket, le="+Inf", **by_id) == 5
    assert _value(samples, "locust_response_time_seconds_count", **by_id) == 5
    assert _value(samples, "locust_response_time_seconds_sum", **by_id) == 7.2435
    assert _value(samples, "locust_requests_total", method="POST", name="/api/profiles") == 1


def test_the_users_workers_and_each_process_cpu() -> None:
    samples = _samples(RequestCounts())

    assert _value(samples, "locust_users") == 7
    assert _value(samples, "locust_workers") == 2
    assert _value(samples, "locust_process_cpu_seconds_total", process="worker-a") == 12.25
    local = _samples(RequestCounts(), GeneratorState(users=1, workers=None, cpu_seconds={}))
    assert not [s for s in local if s.name == "locust_workers"]


def test_workers_increments_add_up_on_the_master() -> None:
    master, worker = RequestCounts(), RequestCounts()
    worker.record("GET /api/profiles", 10.0, failed=False)
    master.merge(worker.take())
    worker.record("GET /api/profiles", 90.0, failed=True)
    master.merge(worker.take())
    master.merge({"GET /x": ["junk"], 5: [1.0]})  # what a broken worker might send

    samples = _samples(master)

    assert _value(samples, "locust_requests_total", name="/api/profiles") == 2
    assert _value(samples, "locust_failures_total", name="/api/profiles") == 1
    assert _value(samples, "locust_response_time_seconds_bucket", name="/api/profiles", le="0.01")
    assert worker.take() == {}
    assert not [s for s in samples if s.labels.get("name") == "/x"]


@pytest.mark.servers  # starts the service and a Locust master with two workers
def test_a_locust_master_serves_the_workers_counts_on_its_web_port(tmp_path: Path) -> None:
    port = free_port()
    with reference_service() as service:
        command = [
            sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--host", service.base_url,
            "--web-host", "127.0.0.1", "--web-port", str(port), "--autostart", "--autoquit", "5",
            "--users", "4", "--spawn-rate", "4", "--run-time", "4s", "--processes", "2",
            "--id-count", str(service.profiles), "--csv", str(tmp_path / "locust"),
        ]  # fmt: skip
        with (tmp_path / "locust.log").open("w") as log:
            process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        try:
            wait_for_port(port, timeout=60)
            _wait_until_stopped(f"http://127.0.0.1:{port}")
            text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
            process.wait(timeout=30)  # --autoquit: Locust writes its CSV and exits
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)

    samples = parse_samples(text)
    served = sum(s.value for s in samples if s.name == "locust_requests_total")
    assert served > 0, (tmp_path / "locust.log").read_text()
    stats = (tmp_path / "locust_stats.csv").read_text().splitlines()
    aggregated = next(line for line in stats if ",Aggregated," in line)
    assert served == int(aggregated.split(",")[2])  # Locust's own request count
    processes = {s.labels["process"] for s in samples if s.name.startswith("locust_process_cpu")}
    assert len(processes) == 3  # the master and its two workers
    assert _value(samples, "locust_workers") == 2


def _wait_until_stopped(web_url: str, timeout: float = 60.0) -> None:
    """Until the swarm ran and stopped (the run time is over; the web UI still answers)."""
    deadline = time.monotonic() + timeout
    seen_running = False
    while time.monotonic() < deadline:
        state = httpx.get(web_url + "/stats/requests", timeout=5).json()["state"]
        seen_running = seen_running or state in ("spawning", "running")
        if seen_running and state == "stopped":
            return
        time.sleep(0.2)
    raise TimeoutError(f"the swarm did not run and stop within {timeout} s")
