"""The Capacity tab's numbers: sized from the service's capacity per core, pinned exactly."""

from __future__ import annotations

import math

import pytest

from capacity.quick import plan_estimate
from loadtests import capacity_tab
from loadtests.capacity_tab import Assumptions, LiveFigures
from loadtests.live_capacity import GeneratorCpuWatch, ServiceCpuWatch, parse_service_samples


def _rows(live: LiveFigures, **assumptions: object) -> dict[str, str]:
    rows = capacity_tab.capacity_rows(live, Assumptions(**assumptions))  # type: ignore[arg-type]
    return {r["metric"]: r["value"] for r in rows}


SERVICE_BOUND = LiveFigures(
    running=True,
    current_rps=1328.0,
    p95_ms=12.0,
    generator_cpu=0.45,
    service_exports_cpu=True,
    service_cores_used=0.9,
    service_cores_available=1.0,
    cpu_s_per_request=0.0004,
    per_core_rps=2500.0,
)


def test_instances_come_from_capacity_per_core_not_from_the_current_throughput() -> None:
    rows = _rows(SERVICE_BOUND)

    # ceil(1000 / (2500 x 2 vCPU x 0.7)) + 1 = ceil(0.571) + 1 = 2; t3.medium $0.0416/h,
    # at 1000 / (2 x 2500 x 2) = 10% CPU, under the 20% baseline: no credits.
    assert rows["Instances needed"] == "2"
    assert rows["Monthly cost, app tier (EC2 + CPU credits)"] == f"${2 * 0.0416 * 730:,.2f}"
    assert rows["Service capacity per core (req/s)"] == "2,500.0"
    assert rows["Service CPU per request"] == "0.400 ms"
    assert rows["Service CPU"] == "0.90 of 1 core (90%)"
    assert rows["Nearest limit"] == "service CPU (saturated)"


def test_utilization_and_redundancy_change_the_estimate_exactly() -> None:
    live = LiveFigures(**{**SERVICE_BOUND.__dict__, "per_core_rps": 100.0})

    default = _rows(live)
    tight = _rows(live, utilization=1.0, redundancy=0)

    assert default["Instances needed"] == str(math.ceil(1000 / (100 * 2 * 0.7)) + 1) == "9"
    assert tight["Instances needed"] == str(math.ceil(1000 / (100 * 2 * 1.0))) == "5"
    assert "70% target CPU utilization, +1 spare" in default["Assumptions"]


def test_the_tab_costs_the_same_as_loadcap_plan_including_t3_credits() -> None:
    live = LiveFigures(**{**SERVICE_BOUND.__dict__, "per_core_rps": 200.0})

    rows = _rows(live)
    plan = plan_estimate(1000, per_core_rps=200.0)

    # 1000 / (200 x 2 x 0.7) -> 4 + 1 = 5 instances at 1000 / (5 x 400) = 50% CPU:
    # credits 5 x 2 x (0.5 - 0.2) x $0.05 x 730 on top of EC2.
    assert plan.instances == 5
    expected = 5 * 0.0416 * 730 + 5 * 2 * (0.5 - 0.2) * 0.05 * 730
    assert plan.app_tier_monthly_usd == pytest.approx(expected, abs=0.01)
    assert rows["Monthly cost, app tier (EC2 + CPU credits)"] == f"${expected:,.2f}"
    assert rows["Monthly cost, whole plan"] == f"${plan.monthly_total_usd:,.2f}"
    assert rows["Same as"] == plan.command
    assert "--per-core-rps 200" in plan.command


def test_a_saturated_generator_is_named_and_its_throughput_not_taken_for_capacity() -> None:
    live = LiveFigures(**{**SERVICE_BOUND.__dict__, "generator_cpu": 0.97})

    assert _rows(live)["Nearest limit"] == (
        "load generator (saturated; its throughput is not the service's capacity)"
    )


def test_without_service_cpu_the_current_throughput_gives_only_an_upper_bound() -> None:
    live = LiveFigures(running=True, current_rps=50.0, p95_ms=5.0, generator_cpu=0.3)

    rows = _rows(live)

    assert rows["Instances needed"] == f"at most {math.ceil(1000 / (50 * 0.7)) + 1}"
    assert "upper bound" in rows["Computed from"]
    assert rows["Service CPU"] == "not exported (no process_cpu_seconds_total)"


def test_before_any_load_every_figure_is_a_dash() -> None:
    rows = _rows(LiveFigures())

    assert rows["Instances needed"] == "-"
    assert rows["Current p95 (ms)"] == "-"
    assert rows["Target load (req/s)"] == "1000"


def test_after_the_swarm_stops_the_last_figures_stay_and_say_so() -> None:
    stopped = capacity_tab.frozen(SERVICE_BOUND, running=False)

    rows = _rows(stopped)

    assert rows["Swarm"] == "stopped: the last figures measured"
    assert rows["Instances needed"] == "2"


def test_service_demand_over_the_window_from_scraped_samples() -> None:
    watch = ServiceCpuWatch()
    text = "process_cpu_seconds_total {cpu}\nloadcap_cpu_cores_available 1.0\n"
    text += 'loadcap_http_requests_total{{method="GET",route="/x",status="200"}} {n}\n'
    # A route template holds braces: its samples count like any other.
    text += 'loadcap_http_requests_total{{method="GET",route="/api/profile/{{id}}",status="200"}} '
    text += "{n}\n"
    text += 'loadcap_http_requests_total{{method="GET",route="/metrics",status="200"}} 99\n'
    for at, cpu, n in ((0.0, 10.0, 500.0), (2.0, 11.0, 1750.0), (4.0, 12.0, 3000.0)):
        samples = parse_service_samples(text.format(cpu=cpu, n=n))
        assert list(samples) == [""]
        watch.add(at, samples, client_requests=0.0)

    demand = watch.demand()

    assert demand is not None
    assert demand.cores_used == pytest.approx(0.5)
    assert demand.cpu_s_per_request == pytest.approx(2.0 / 5000)
    assert demand.per_core_rps == 2500.0


FEDERATED = """# TYPE process_cpu_seconds_total untyped
process_cpu_seconds_total{{instance="a:1",job="app"}} {cpu_a} {ts_a}
process_cpu_seconds_total{{instance="b:1",job="app"}} {cpu_b} {ts_b}
loadcap_cpu_cores_available{{instance="a:1",job="app"}} 1 {ts_a}
loadcap_cpu_cores_available{{instance="b:1",job="app"}} 1 {ts_b}
loadcap_http_requests_total{{instance="a:1",job="app",route="/api/profiles"}} {n_a} {ts_a}
loadcap_http_requests_total{{instance="b:1",job="app",route="/api/profiles"}} {n_b} {ts_b}
"""


def test_a_federated_fleet_sums_each_instance_between_its_own_scrapes() -> None:
    watch = ServiceCpuWatch()
    # Instance a busy (0.5 core, 1 ms a request), b less so (0.25 core, 1 ms a request);
    # Prometheus scraped them at different moments, and the tab scraped twice in between.
    for tab_at, values in (
        (100.0, dict(cpu_a=10.0, ts_a=99000, n_a=1000, cpu_b=5.0, ts_b=97500, n_b=400)),
        (102.0, dict(cpu_a=10.0, ts_a=99000, n_a=1000, cpu_b=5.0, ts_b=97500, n_b=400)),
        (104.0, dict(cpu_a=12.0, ts_a=103000, n_a=3000, cpu_b=6.0, ts_b=101500, n_b=1400)),
    ):
        watch.add(tab_at, parse_service_samples(FEDERATED.format(**values)), client_requests=0)

    demand = watch.demand()

    assert demand is not None
    assert demand.cores_used == pytest.approx(0.75)
    assert demand.cores_available == 2
    assert demand.cpu_s_per_request == pytest.approx(3.0 / 3000)


def test_generator_watch_reports_the_busiest_process() -> None:
    watch = GeneratorCpuWatch()
    watch.add("worker-1", [(0.0, 1.0), (5.0, 3.0)])
    watch.add("worker-2", [(0.0, 1.0), (5.0, 5.5)])

    assert watch.busiest() == pytest.approx(0.9)


def test_the_tab_points_to_where_the_target_load_is_edited() -> None:
    assert "/capacity" in capacity_tab.EDIT_HINT["value"]
