"""Charts for fits and plans: functions that draw on a matplotlib Axes, plus one that saves
a figure. Object-oriented API and the Agg canvas only: no pyplot, no global state.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from capacity.autoscale import DaySimulation
from capacity.errors import CapacityInputError
from capacity.sizing import linear_instances, usl_instances
from capacity.usl import UslFit

SWEEP_LOADS = tuple(float(v) for v in np.geomspace(100, 100_000, 61))


def plot_usl(ax: Axes, fit: UslFit, n: Sequence[float], throughput: Sequence[float]) -> Axes:
    """Measured points, the fitted curve to beyond the peak, and the peak itself."""
    top = max(max(n), fit.peak_n or 0.0) * 1.3
    grid = np.linspace(1.0, top, 400)
    ax.plot(grid, fit.predict_many(grid), color="tab:blue", label="USL fit")
    ax.plot(grid, fit.lam * grid, color="0.6", linestyle=":", label="linear (no contention)")
    ax.scatter(n, throughput, color="black", zorder=3, label="measured")
    ymax = max(max(throughput), fit.peak_throughput or 0.0) * 1.25
    if fit.peak_n is not None and fit.peak_throughput is not None:
        ax.axvline(fit.peak_n, color="tab:red", linestyle="--", linewidth=1)
        ax.plot([fit.peak_n], [fit.peak_throughput], marker="D", color="tab:red", zorder=4)
        # Label at the foot of the peak line, clear of the data points near the curve.
        ax.annotate(
            f"peak N* = {fit.peak_n:,.1f}, X(N*) = {fit.peak_throughput:,.0f}",
            (fit.peak_n, ymax * 0.06),
            textcoords="offset points",
            xytext=(6, 0),
            color="tab:red",
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85},
        )
    ax.set_ylim(0, ymax)
    ax.set_xlim(0, top)
    ax.set_xlabel("N (concurrency or instances)")
    ax.set_ylabel("throughput")
    ax.set_title(
        f"USL: sigma={fit.sigma:.4g}, kappa={fit.kappa:.3g}, lambda={fit.lam:,.4g}, "
        f"R\u00b2={fit.r_squared:.3f}",
        fontsize=10,
    )
    ax.legend(loc="upper right")
    ax.grid(alpha=0.3)
    return ax


@dataclass(frozen=True, kw_only=True)
class LoadSweep:
    loads: list[float]
    series: dict[str, list[float]]  # label -> instances per load (NaN: out of reach)
    hourly_usd: float
    hours_per_month: int


@dataclass(frozen=True)
class LinearSeries:
    per_instance_rps: float
    utilization: float
    redundancy: int


def sweep_loads(
    *,
    linear: dict[str, LinearSeries],
    fit: UslFit | None,
    utilization: float,
    redundancy: int,
    hourly_usd: float,
    hours_per_month: int,
    loads: Sequence[float] = SWEEP_LOADS,
) -> LoadSweep:
    """Instances for each target load: each linear assumption, and the USL fit if given."""
    series: dict[str, list[float]] = {}
    for label, spec in linear.items():
        series[label] = [
            float(
                linear_instances(
                    t,
                    spec.per_instance_rps,
                    utilization=spec.utilization,
                    redundancy=spec.redundancy,
                )
            )
            for t in loads
        ]
    if fit is not None:
        usl = [usl_instances(t, fit, utilization=utilization, redundancy=redundancy) for t in loads]
        series["USL fit (N = instances)"] = [
            float(u.instances) if u.reachable else math.nan for u in usl
        ]
    return LoadSweep(
        loads=list(loads), series=series, hourly_usd=hourly_usd, hours_per_month=hours_per_month
    )


def _thousands(value: float, _pos: int) -> str:
    return f"{value:,.0f}"


def _mark_target(ax: Axes, target_rps: float | None) -> None:
    if target_rps is not None:
        ax.axvline(target_rps, color="0.4", linestyle="--", linewidth=1, label="target")


def plot_instances_vs_load(ax: Axes, sweep: LoadSweep, target_rps: float | None = None) -> Axes:
    for label, counts in sweep.series.items():
        ax.plot(sweep.loads, counts, label=label)
    _mark_target(ax, target_rps)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("target load (req/s)")
    ax.set_ylabel("instances")
    ax.set_title("Instances for a target load", fontsize=10)
    _log_axes(ax)
    ax.legend()
    return ax


def plot_cost_vs_load(
    ax: Axes, sweep: LoadSweep, instance_type: str, target_rps: float | None = None
) -> Axes:
    monthly = sweep.hourly_usd * sweep.hours_per_month
    for label, counts in sweep.series.items():
        ax.plot(sweep.loads, [c * monthly for c in counts], label=label)
    _mark_target(ax, target_rps)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("target load (req/s)")
    ax.set_ylabel(f"app tier USD / month ({instance_type}, on-demand)")
    ax.set_title("Monthly app-tier cost for a target load", fontsize=10)
    _log_axes(ax)
    ax.legend()
    return ax


def _log_axes(ax: Axes) -> None:
    ax.xaxis.set_major_formatter(FuncFormatter(_thousands))
    ax.yaxis.set_major_formatter(FuncFormatter(_thousands))
    ax.grid(which="both", alpha=0.3)


def plot_autoscale_day(ax: Axes, day: DaySimulation, per_instance_rps: float) -> Axes:
    hours = np.arange(len(day.minutes)) / 60.0
    ax.plot(hours, day.minutes, color="tab:gray", label="load (req/s)")
    ax.set_xlabel("hour of day")
    ax.set_ylabel("req/s")
    ax.set_xlim(0, 24)
    ax.set_xticks(range(0, 25, 3))
    twin = ax.twinx()
    twin.step(hours, day.instances, where="post", color="tab:blue", label="autoscaled instances")
    twin.axhline(day.fixed_instances, color="tab:red", linestyle="--", label="fixed for peak")
    twin.set_ylabel("instances")
    twin.set_ylim(0, day.fixed_instances * 1.15)
    ax.set_ylim(0, max(day.minutes) * 1.15)
    lines = ax.get_legend_handles_labels()
    more = twin.get_legend_handles_labels()
    ax.legend(lines[0] + more[0], lines[1] + more[1], loc="upper left")
    ax.set_title(
        f"Target tracking over a day: {day.instance_hours:,.0f} vs "
        f"{day.fixed_instance_hours:,.0f} instance-hours ({per_instance_rps:,.0f} req/s each)",
        fontsize=10,
    )
    ax.grid(alpha=0.3)
    return ax


def new_figure(panels: int, *, width_per_panel: float = 6.0, height: float = 4.5) -> Figure:
    figure = Figure(figsize=(width_per_panel * panels, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def save_figure(figure: Figure, path: Path) -> Path:
    if path.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise CapacityInputError(f"chart file must end in .png, .svg or .pdf, got {path.name!r}")
    try:
        figure.savefig(path, dpi=120)
    except OSError as exc:
        raise CapacityInputError(f"cannot write {path}: {exc.strerror}") from None
    return path


def write_fit_chart(
    fit: UslFit, n: Sequence[float], throughput: Sequence[float], path: Path
) -> Path:
    figure = new_figure(1, width_per_panel=7.0)
    plot_usl(figure.add_subplot(), fit, n, throughput)
    return save_figure(figure, path)
