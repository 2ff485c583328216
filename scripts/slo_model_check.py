#!/usr/bin/env python3
"""Predicted p95 (the plan's M/M/c model) beside the observed p95 of open-model runs.

    scripts/slo_model_check.py --cpus 0.1 --saturated SAT_RUN LIGHT_RUN RUN [RUN ...]

Every run is `loadcap run --service-cpus CPUS --rps R`: one instance capped at `--cpus` cores,
a fixed arrival rate (open model). SAT_RUN,
offered more than the instance carries, gives D (CPU seconds per request at saturation: D
falls as load rises, so the light run's D would understate the capacity) and so one server's
rate, cpus / D. The lightest run (LIGHT_RUN) calibrates the off-CPU floor as the plan does
(its p95 less ln 20 x the service time alone). Each other run's rate is then predicted with
that one server, as `loadcap plan --slo-p95-ms` would, and printed beside what the run
observed (HDR p95 from the response, and from the intended send time) and their ratio.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from capacity.figures import Figure
from capacity.planner import latency_objective
from capacity.runs import read_measured_run
from capacity.slo_sizing import ServerRate, predicted_p95_ms
from rundir.summary_json import SUMMARY_FILE, read_summary


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpus", type=float, required=True, help="the instance's CPU cap")
    parser.add_argument("--saturated", type=Path, required=True, help="run past capacity")
    parser.add_argument("light", type=Path, help="run at a light load (calibration)")
    parser.add_argument("runs", type=Path, nargs="+", help="runs at the loads to predict")
    args = parser.parse_args(argv)

    saturated = read_summary(args.saturated / SUMMARY_FILE)
    demand = saturated.capacity.service_cpu_s_per_request if saturated.capacity else None
    if not demand:
        print(f"{args.saturated}: no service demand measured", file=sys.stderr)
        return 2
    rate = Figure(args.cpus / demand, f"{args.cpus:g} cores / D {demand * 1000:.3f} ms")
    measured = read_measured_run(args.light)
    notes: list[str] = []
    objective = latency_objective(Figure(1.0, "unused"), measured.light_load, rate, notes)
    capacity, floor = rate.value, objective.floor_ms.value
    print(f"capacity {capacity:,.1f} req/s ({rate.source}); floor {floor:.2f} ms")
    print(f"({objective.floor_ms.source})")
    print(
        "| load | of capacity | predicted p95 | observed p95 | observed / predicted "
        "| observed p95 from the intended send | predicted with the run's own D |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for run in args.runs:
        summary = read_summary(run / SUMMARY_FILE)
        rps = summary.totals.rps or 0.0
        hdr = (summary.totals.hdr.p95_ms if summary.totals.hdr else summary.totals.p95_ms) or 0
        intended = None
        if summary.open_model and summary.open_model.intended:
            aggregated = summary.open_model.intended.get("Aggregated")
            intended = aggregated.p95_ms if aggregated else None
        predicted = _p95(rps, args.cpus, demand, floor)
        own = (summary.capacity.service_cpu_s_per_request if summary.capacity else None) or 0
        print(
            f"| {rps:,.1f} req/s | {rps / capacity:.0%} | {_ms(predicted)} | {hdr:,.1f} ms | "
            f"{hdr / predicted:.2f} | {intended or 0:,.1f} ms | "
            f"{_ms(_p95(rps, args.cpus, own, floor))} (D {own * 1000:.3f} ms) |"
        )
    return 0


def _p95(rps: float, cpus: float, demand: float, floor: float) -> float:
    """One server of rate cpus / D, as the plan's model sees a capped instance."""
    if demand <= 0:
        return float("inf")
    rate = ServerRate(per_server_rps=Figure(cpus / demand, "run"), servers_per_instance=1)
    return predicted_p95_ms(rps, 1, rate, floor)


def _ms(value: float) -> str:
    return "overloaded" if value == float("inf") else f"{value:,.1f} ms"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
