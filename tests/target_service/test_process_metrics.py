"""The service accounts for itself: process metrics on /metrics, for the whole instance."""

from __future__ import annotations

import re
import threading

import httpx
import psutil
import pytest

from target_service.process import ServiceProcess

pytestmark = pytest.mark.servers  # starts the service, Locust or a browser

API_ROUTE = 'loadcap_http_requests_total{method="GET",route="/api/profile/{id}",status="200"}'


def _sample(text: str, name: str) -> float:
    match = re.search(rf"^{re.escape(name)} ([0-9.e+]+)$", text, re.MULTILINE)
    assert match is not None, f"{name} missing from /metrics"
    return float(match.group(1))


def _send(base_url: str, count: int) -> None:
    # New connections now and then, so the kernel spreads them over the workers.
    for start in range(0, count, 25):
        with httpx.Client(base_url=base_url) as client:
            for i in range(start, min(start + 25, count)):
                assert client.get(f"/api/profile/{i % 50 + 1}").status_code == 200


def test_one_worker_exports_the_standard_process_metrics() -> None:
    with ServiceProcess(profiles=50) as service:
        _send(service.base_url, 200)
        text = httpx.get(service.base_url + "/metrics").text

    assert _sample(text, "process_cpu_seconds_total") > 0
    assert _sample(text, "process_resident_memory_bytes") > 10_000_000
    assert _sample(text, "process_open_fds") > 0
    assert _sample(text, "loadcap_cpu_cores_available") == 1.0
    assert _sample(text, API_ROUTE) == 200


@pytest.mark.timeout(120)
def test_with_two_workers_metrics_cover_the_whole_instance() -> None:
    sent_per_thread, threads = 150, 4
    with ServiceProcess(profiles=50, workers=2) as service:
        assert service.pid is not None
        workers = _workers(psutil.Process(service.pid))
        before = [sum(p.cpu_times()[:2]) for p in workers]
        senders = [
            threading.Thread(target=_send, args=(service.base_url, sent_per_thread))
            for _ in range(threads)
        ]
        for thread in senders:
            thread.start()
        for thread in senders:
            thread.join(timeout=60)
        text = httpx.get(service.base_url + "/metrics").text
        after = [sum(p.cpu_times()[:2]) for p in workers]

    # Both workers served (their CPU grew), and /metrics counts every request the client
    # sent, whichever worker answered the scrape.
    assert len(workers) == 2
    assert all(b - a > 0.02 for a, b in zip(before, after, strict=True)), (before, after)
    assert _sample(text, API_ROUTE) == sent_per_thread * threads
    # CPU is the instance's: at least what both workers spent, not one worker's share.
    assert _sample(text, "process_cpu_seconds_total") >= 0.95 * sum(after)
    cores = min(2, len(psutil.Process().cpu_affinity() or [0]))
    assert _sample(text, "loadcap_cpu_cores_available") == cores


def _workers(supervisor: psutil.Process) -> list[psutil.Process]:
    children = supervisor.children(recursive=True)
    return [p for p in children if "resource_tracker" not in " ".join(p.cmdline())]
