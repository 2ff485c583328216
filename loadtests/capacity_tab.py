"""The "Capacity" tab of the Locust web UI: what the current throughput means in instances and
dollars for a target load.

Locust's React UI renders extension tabs as tables (`extended_tabs` / `extended_tables` in
the template arguments, rows in `extended_stats` of `/stats/requests`). The target is editable
in the start form (`--capacity-target-rps`) and live on the `/capacity` page, which also
shows the table on its own.
"""

from __future__ import annotations

import json
import math
from importlib import resources
from typing import Any

from flask import Blueprint, Response, jsonify, request

TAB_KEY = "capacity"
FALLBACK_UTILIZATION = 0.7
FALLBACK_HOURLY_USD = 0.0416  # t3.medium, us-east-1 on-demand
HOURS_PER_MONTH = 730
TABLE_STRUCTURE = [{"key": "metric", "title": "Capacity"}, {"key": "value", "title": "Value"}]
# Locust renders extension tabs as plain tables, so the target's editor lives on its own page.
EDIT_HINT = {
    "metric": "Change the target load",
    "value": "open /capacity (or --capacity-target-rps)",
}


def estimate(current_rps: float, target_rps: float) -> dict[str, Any]:
    """App-tier instances and cost for `target_rps` if one instance does `current_rps`."""
    if current_rps <= 0 or target_rps <= 0:
        return {"instances": None, "monthly_usd": None, "hourly_usd": None, "source": "no load yet"}
    try:
        from capacity.quick import app_tier_estimate  # optional sibling package

        plan = app_tier_estimate(target_rps, current_rps)
        return {**plan, "source": "capacity package"}
    except ImportError:
        instances = math.ceil(target_rps / (current_rps * FALLBACK_UTILIZATION)) + 1
        hourly = instances * FALLBACK_HOURLY_USD
        return {
            "instances": instances,
            "instance_type": "t3.medium",
            "hourly_usd": round(hourly, 4),
            "monthly_usd": round(hourly * HOURS_PER_MONTH, 2),
            "source": "simple formula",
        }


def capacity_rows(
    current_rps: float, p95_ms: float | None, target_rps: float
) -> list[dict[str, str]]:
    plan = estimate(current_rps, target_rps)
    rows = [
        ("Current throughput (req/s)", f"{current_rps:.1f}"),
        ("Current p95 (ms)", "-" if p95_ms is None else f"{p95_ms:.0f}"),
        ("Target load (req/s)", f"{target_rps:.0f}"),
        ("Instances needed", "-" if plan["instances"] is None else str(plan["instances"])),
        ("Instance type", str(plan.get("instance_type", "-"))),
        ("Monthly cost (USD)", _money(plan["monthly_usd"])),
        ("Hourly cost (USD)", _money(plan["hourly_usd"])),
        ("Computed with", str(plan["source"])),
    ]
    return [{"metric": metric, "value": value} for metric, value in rows]


def _money(value: Any) -> str:
    return "-" if value is None else f"${float(value):,.2f}"


def live_figures(environment: Any) -> tuple[float, float | None]:
    total = environment.runner.stats.total
    current_rps = float(total.current_rps or 0.0)
    p95 = total.get_current_response_time_percentile(0.95) if total.num_requests else None
    return current_rps, None if p95 is None else float(p95)


def install(environment: Any, web_ui: Any) -> None:
    """Adds the tab to the main page, its rows to `/stats/requests`, and the `/capacity` page."""
    options = environment.parsed_options
    web_ui.template_args["extended_tabs"] = [{"title": "Capacity", "key": TAB_KEY}]
    web_ui.template_args["extended_tables"] = [{"key": TAB_KEY, "structure": TABLE_STRUCTURE}]

    def target_rps() -> float:
        return float(getattr(options, "capacity_target_rps", 1000.0) or 1000.0)

    def rows() -> list[dict[str, str]]:
        current_rps, p95 = live_figures(environment)
        return capacity_rows(current_rps, p95, target_rps())

    def add_capacity_rows(response: Response) -> Response:
        if request.path.endswith("/stats/requests") and response.is_json:
            body = response.get_json()
            body["extended_stats"] = [{"key": TAB_KEY, "data": [*rows(), EDIT_HINT]}]
            response.set_data(json.dumps(body))
        return response

    web_ui.app.after_request(add_capacity_rows)
    web_ui.app.register_blueprint(_blueprint(environment, options, rows, target_rps))


def _blueprint(environment: Any, options: Any, rows: Any, target_rps: Any) -> Blueprint:
    page = Blueprint("loadcap_capacity", __name__)
    html = resources.files("loadtests").joinpath("capacity_tab.html").read_text(encoding="utf-8")

    @page.route("/capacity")
    def capacity_page() -> Response:
        return Response(html, mimetype="text/html")

    @page.route("/capacity/data")
    def capacity_data() -> Response:
        return jsonify({"target_rps": target_rps(), "rows": rows()})

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
