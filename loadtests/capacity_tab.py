"""The "Capacity" tab of the Locust web UI: what the *service* can carry, and what that means
in instances and dollars for a target load.

The figure it sizes from is the service's capacity per core, 1 / D, where D is the CPU
seconds the service spends per request, read live from the target's `process_cpu_seconds_total`
(the Utilization Law) — never the swarm's current throughput, which only says how hard Locust
is pushing. Instances and cost come from the same code as `loadcap plan --per-core-rps`, with
the assumptions on screen. Beside it: the load generator's CPU and which limit is nearest.
A target that exports no process CPU gets an upper bound on instances from the current
throughput, labelled as such.

Locust's React UI renders extension tabs as tables (`extended_tabs` / `extended_tables` in
the template arguments, rows in `extended_stats` of `/stats/requests`). The target is editable
in the start form (`--capacity-target-rps`) and live on the `/capacity` page.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from importlib import resources
from typing import Any

from flask import Blueprint, Response, jsonify, request

from capacity.errors import CapacityInputError
from capacity.quick import PlanEstimate, plan_estimate
from capacity.sizing import DEFAULT_REDUNDANCY, DEFAULT_TARGET_RPS, DEFAULT_UTILIZATION
from loadtests.arguments import LocustOptions

TAB_KEY = "capacity"
TABLE_STRUCTURE = [{"key": "metric", "title": "Capacity"}, {"key": "value", "title": "Value"}]
GENERATOR_LIMIT = 0.90  # Locust's own CPU warning threshold
SERVICE_CPU_LIMIT = 0.85
# Locust renders extension tabs as plain tables, so the target's editor lives on its own page.
EDIT_HINT = {
    "metric": "Change the target load",
    "value": "open /capacity (or --capacity-target-rps)",
}


@dataclass(frozen=True, kw_only=True)
class LiveFigures:
    """What the master measured over the last window (or last saw, once the swarm stopped)."""

    running: bool = False
    current_rps: float = 0.0
    p95_ms: float | None = None
    generator_cpu: float | None = None  # the busiest Locust process, share of one core
    service_exports_cpu: bool = False
    service_cores_used: float | None = None
    service_cores_available: float | None = None
    cpu_s_per_request: float | None = None
    per_core_rps: float | None = None


@dataclass(frozen=True, kw_only=True)
class Assumptions:
    target_rps: float = DEFAULT_TARGET_RPS
    utilization: float = DEFAULT_UTILIZATION
    redundancy: int = DEFAULT_REDUNDANCY
    instance_type: str = "t3.medium"
    region: str = "us-east-1"

    def line(self, prices_version: str) -> str:
        return (
            f"{self.utilization:.0%} target CPU utilization, +{self.redundancy} spare, one "
            f"worker per vCPU, {self.region} on-demand prices {prices_version}; database tier "
            "for the seed's mix and 70% cache hits"
        )


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%} of a core"


def _service_cpu(live: LiveFigures) -> str:
    if not live.service_exports_cpu:
        return "not exported (no process_cpu_seconds_total)"
    if live.service_cores_used is None:
        return "-"
    available = live.service_cores_available
    if available:
        used, plural = live.service_cores_used, "s" if available != 1 else ""
        return f"{used:.2f} of {available:g} core{plural} ({used / available:.0%})"
    return f"{live.service_cores_used:.2f} cores"


def nearest_limit(live: LiveFigures) -> str:
    """The resource closest to its limit: the generator (90 %) or the service's CPU (85 %)."""
    candidates = []
    if live.generator_cpu is not None:
        candidates.append((live.generator_cpu / GENERATOR_LIMIT, "load generator", GENERATOR_LIMIT))
    if live.service_cores_used is not None and live.service_cores_available:
        utilization = live.service_cores_used / live.service_cores_available
        candidates.append((utilization / SERVICE_CPU_LIMIT, "service CPU", SERVICE_CPU_LIMIT))
    if not candidates:
        return "-"
    ratio, name, limit = max(candidates)
    verdict = "saturated" if ratio >= 1 else f"{ratio:.0%} of its {limit:.0%} limit"
    warning = "; its throughput is not the service's capacity" if name == "load generator" else ""
    return f"{name} ({verdict}{warning if ratio >= 1 else ''})"


def estimate(live: LiveFigures, assumptions: Assumptions) -> tuple[PlanEstimate | None, str]:
    """The plan for the target, and what it was computed from."""
    a = assumptions
    if live.per_core_rps:
        rate: dict[str, float] = {"per_core_rps": live.per_core_rps}
        basis = "the service's capacity per core (1 / CPU per request)"
    elif live.current_rps > 0:
        rate = {"per_instance_rps": live.current_rps}
        basis = (
            "the current throughput, as if it were one instance's capacity: an upper bound "
            "on instances (export process_cpu_seconds_total for the service's capacity)"
        )
    else:
        return None, "no load yet"
    try:
        plan = plan_estimate(
            a.target_rps,
            **rate,
            utilization=a.utilization,
            redundancy=a.redundancy,
            instance_type=a.instance_type,
            region=a.region,
        )
        return plan, basis
    except CapacityInputError as exc:
        return None, f"cannot plan: {exc}"


def capacity_rows(live: LiveFigures, assumptions: Assumptions) -> list[dict[str, str]]:
    plan, basis = estimate(live, assumptions)
    bound = "" if live.per_core_rps or plan is None else "at most "
    demand = live.cpu_s_per_request
    rows = [
        ("Swarm", "running" if live.running else "stopped: the last figures measured"),
        ("Current throughput (req/s)", f"{live.current_rps:.1f}"),
        ("Current p95 (ms)", "-" if live.p95_ms is None else f"{live.p95_ms:.0f}"),
        ("Load generator CPU (busiest process)", _share(live.generator_cpu)),
        ("Service CPU", _service_cpu(live)),
        ("Service CPU per request", "-" if demand is None else f"{demand * 1000:.3f} ms"),
        (
            "Service capacity per core (req/s)",
            "-" if live.per_core_rps is None else f"{live.per_core_rps:,.1f}",
        ),
        ("Nearest limit", nearest_limit(live)),
        ("Target load (req/s)", f"{assumptions.target_rps:.0f}"),
        ("Instances needed", "-" if plan is None else f"{bound}{plan.instances}"),
        ("Instance type", assumptions.instance_type),
        (
            "Monthly cost, app tier (EC2 + CPU credits)",
            "-" if plan is None else _money(plan.app_tier_monthly_usd),
        ),
        ("Monthly cost, whole plan", "-" if plan is None else _money(plan.monthly_total_usd)),
        ("Computed from", basis),
        ("Same as", "-" if plan is None else plan.command),
        ("Assumptions", assumptions.line(plan.prices_version if plan else "-")),
    ]
    return [{"metric": metric, "value": value} for metric, value in rows]


def _money(value: float) -> str:
    return f"${value:,.2f}"


def install(environment: Any, web_ui: Any, live: Any) -> None:
    """Adds the tab to the main page, its rows to `/stats/requests`, and the `/capacity` page.
    `live()` returns the current `LiveFigures`."""
    options = environment.parsed_options
    web_ui.template_args["extended_tabs"] = [{"title": "Capacity", "key": TAB_KEY}]
    web_ui.template_args["extended_tables"] = [{"key": TAB_KEY, "structure": TABLE_STRUCTURE}]

    def assumptions() -> Assumptions:
        typed = LocustOptions.from_namespace(options)  # the target may have been edited
        return Assumptions(
            target_rps=typed.capacity_target_rps or DEFAULT_TARGET_RPS,
            utilization=typed.capacity_utilization,
            redundancy=typed.capacity_redundancy,
            instance_type=typed.capacity_instance_type,
            region=str(getattr(options, "capacity_region", "us-east-1")),
        )

    def rows() -> list[dict[str, str]]:
        return capacity_rows(live(), assumptions())

    def add_capacity_rows(response: Response) -> Response:
        if request.path.endswith("/stats/requests") and response.is_json:
            body = response.get_json()
            body["extended_stats"] = [{"key": TAB_KEY, "data": [*rows(), EDIT_HINT]}]
            response.set_data(json.dumps(body))
        return response

    web_ui.app.after_request(add_capacity_rows)
    web_ui.app.register_blueprint(_blueprint(options, rows, assumptions))


def _blueprint(options: Any, rows: Any, assumptions: Any) -> Blueprint:
    page = Blueprint("loadcap_capacity", __name__)
    html = resources.files("loadtests").joinpath("capacity_tab.html").read_text(encoding="utf-8")

    @page.route("/capacity")
    def capacity_page() -> Response:
        return Response(html, mimetype="text/html")

    @page.route("/capacity/data")
    def capacity_data() -> Response:
        return jsonify({"target_rps": assumptions().target_rps, "rows": rows()})

    @page.route("/capacity/target", methods=["POST"])
    def set_target() -> tuple[Response, int] | Response:
        try:
            value = float((request.get_json(silent=True) or {}).get("target_rps", ""))
        except (TypeError, ValueError):
            return jsonify({"error": "target_rps must be a number"}), 400
        if not math.isfinite(value) or value <= 0:
            return jsonify({"error": "target_rps must be positive"}), 400
        options.capacity_target_rps = value
        return jsonify({"target_rps": value, "rows": rows()})

    return page


def frozen(last: LiveFigures, *, running: bool) -> LiveFigures:
    """Once the swarm stops, the figures stay those last measured while it ran."""
    return last if running else replace(last, running=False)
