"""Capacity that belongs to the service: real runs against a double with a known CPU cost per
request, service and Locust on separate cores, checked through summary.json and the report.

No mocks of the thing measured: the double burns real CPU, Locust really runs, the service's
`process_cpu_seconds_total` and Locust's own CPU are what the verdict is made from.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from pipeline import runner
from pipeline.cpu_split import CpuSplit, available_cpus, pinned
from pipeline.runner import RunSettings, run_load_test
from reports.report import write_report
from tests.fixtures.ports import free_port, wait_for_port

pytestmark = pytest.mark.servers  # starts the service, Locust or a browser

SLOW_LOCUSTFILE = Path(__file__).with_name("slow_locustfile.py")
ROOT = Path(__file__).parents[2]

needs_two_cpus = pytest.mark.skipif(
    len(available_cpus()) < 2, reason="service and generator need a core each"
)


def _split() -> CpuSplit:
    cpus = sorted(available_cpus())
    return CpuSplit(service=frozenset(cpus[:1]), generator=frozenset(cpus[1:2]))


@contextmanager
def cpu_double(burn_ms: float, cpus: frozenset[int] | None) -> Iterator[str]:
    port = free_port()
    command = [sys.executable, "-m", "tests.loadtests.cpu_double", "--port", str(port)]
    command += ["--burn-ms", str(burn_ms)]
    process = subprocess.Popen(pinned(command, cpus), cwd=ROOT)
    try:
        wait_for_port(port, timeout=20)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


# A verdict needs the two cores to itself: other processes on the machine taking this much
# CPU (recorded in generator.csv) make "who saturated" unanswerable, and the run says so.
DISTURBED_CORES = 0.25


def _run(out: Path, host: str, *, users: int, duration_s: float = 10.0) -> dict[str, Any]:
    """One run, repeated once if the machine was busy with other work; `disturbed` says
    whether the last one still was."""
    for attempt in range(2):
        directory = out / f"attempt-{attempt}"
        settings = RunSettings(
            out_dir=directory,
            host=host,
            users=users,
            spawn_rate=float(users),
            duration_s=duration_s,
            metrics_interval_s=1.0,
            cpu_split=_split(),
        )
        outcome = run_load_test(settings)
        assert (directory / "locust_stats.csv").exists(), outcome.message
        write_report(directory)
        summary: dict[str, Any] = json.loads(
            (directory / "summary.json").read_text(encoding="utf-8")
        )
        other = max((row.get("other_cores") or 0.0) for row in summary["use"])
        summary["run_dir"], summary["disturbed"] = str(directory), other >= DISTURBED_CORES
        if not summary["disturbed"]:
            break
    return summary


def _skip_if_disturbed(summary: dict[str, Any]) -> None:
    if summary["disturbed"]:
        pytest.skip(f"the machine was busy with other work: {summary['capacity']['sentence']}")


@needs_two_cpus
def test_service_demand_and_per_core_capacity_match_the_known_cost(tmp_path: Path) -> None:
    # 2 ms of CPU per request: D ~ 2 ms, about 500 req/s per core; a fast generator.
    with cpu_double(2.0, _split().service) as host:
        summary = _run(tmp_path / "run", host, users=10)

    capacity = summary["capacity"]
    # Demand is CPU time per request: it holds even when the machine is busy.
    assert capacity["service_cpu_s_per_request"] == pytest.approx(0.002, rel=0.15)
    assert capacity["per_core_rps"] == pytest.approx(500, rel=0.15)
    _skip_if_disturbed(summary)
    # The service's core was the bottleneck, not Locust's.
    assert capacity["first_limit"] == "service_cpu", (capacity["sentence"], summary["use"])
    assert capacity["generator_saturated"] is False
    assert capacity["basis"] == "observed"
    assert "service's CPU hit its limit first" in capacity["sentence"]
    assert (Path(summary["run_dir"]) / "generator.csv").is_file()


@needs_two_cpus
def test_a_slow_generator_is_named_as_the_limit_and_the_capacity_comes_from_demand(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The service costs 0.25 ms a request; every request costs Locust 2 ms more on top.
    monkeypatch.setattr(runner, "LOCUSTFILE", SLOW_LOCUSTFILE)
    monkeypatch.setenv("LOADCAP_TEST_GENERATOR_BURN_MS", "2")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    with cpu_double(0.25, _split().service) as host:
        summary = _run(tmp_path / "run", host, users=10)

    capacity = summary["capacity"]
    _skip_if_disturbed(summary)
    assert capacity["first_limit"] == "load_generator", (capacity["sentence"], summary["use"])
    assert capacity["generator_saturated"] is True
    assert capacity["basis"] == "utilization_law"
    # The capacity is the service's (about 1 / 0.25 ms), far above what the generator pushed.
    assert capacity["per_core_rps"] > 2 * summary["totals"]["rps"]
    markdown = (Path(summary["run_dir"]) / "report.md").read_text(encoding="utf-8")
    assert "load generator hit its limit first" in markdown
    assert "not the service" in markdown
