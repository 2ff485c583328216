"""Charts as functions of data and an `Axes` (matplotlib's object-oriented API, no pyplot).

Each function draws one idea on the `Axes` it is given and returns it; an empty series gets a
"no data" note instead of a blank frame, so a reader knows the absence is real.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter, MaxNLocator, MultipleLocator, PercentFormatter

from reports.locust_csv import AGGREGATED

if TYPE_CHECKING:
    from reports.saturation import MeasuredStage

TOTAL_STYLE = {"color": "black", "linewidth": 2.0}
PERCENTILE_COLOURS = {"p50_ms": "#4c72b0", "p95_ms": "#dd8452", "p99_ms": "#c44e52"}
TICK_SPACINGS_S = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600)
MARKERS_UP_TO = 60  # points per line; beyond that markers only blur the line
SLO_STYLE = {"color": "#c44e52", "linestyle": "--", "linewidth": 1.0}


def _clock(seconds: float, _position: object = None) -> str:
    seconds = max(seconds, 0.0)
    minutes, rest = divmod(round(seconds), 60)
    return (
        f"{minutes // 60}:{minutes % 60:02d}:{rest:02d}"
        if minutes >= 60
        else f"{minutes}:{rest:02d}"
    )


def _time_axis(ax: Axes) -> None:
    # Ticks at spacings a clock reader expects (5 s, 30 s, 1 min, 10 min...), about 8 of them.
    low, high = ax.get_xlim()
    spacing = next((s for s in TICK_SPACINGS_S if (high - low) / s <= 8), TICK_SPACINGS_S[-1])
    ax.xaxis.set_major_locator(MultipleLocator(spacing))
    ax.xaxis.set_major_formatter(FuncFormatter(_clock))
    ax.set_xlabel("time since start (h:mm:ss)" if high >= 3600 else "time since start (m:ss)")
    ax.grid(True, alpha=0.3)


def no_data(ax: Axes, title: str, why: str = "no data in this run") -> Axes:
    ax.set_title(title)
    ax.text(0.5, 0.5, why, ha="center", va="center", transform=ax.transAxes, color="grey")
    ax.set_xticks([])
    ax.set_yticks([])
    return ax


def _legend(ax: Axes) -> None:
    """Beside the plot, never over the data."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)


def _over_time(ax: Axes, *, title: str, ylabel: str) -> Axes:
    """What every chart over time ends with: its title and unit, clock ticks, the legend."""
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    _time_axis(ax)
    _legend(ax)
    return ax


def plot_throughput(ax: Axes, throughput: pd.DataFrame, *, title: str = "Throughput") -> Axes:
    """Requests/s over time: one line per endpoint, the total in bold."""
    if throughput.empty:
        return no_data(ax, title)
    for endpoint in throughput.columns:
        style = TOTAL_STYLE if endpoint == AGGREGATED else {"linewidth": 1.0}
        label = "all endpoints" if endpoint == AGGREGATED else endpoint
        ax.plot(throughput.index, throughput[endpoint], label=label, **style)
    ax.set_ylim(bottom=0)
    return _over_time(ax, title=title, ylabel="requests/s")


def plot_latency(ax: Axes, latency: pd.DataFrame, *, slo_p95_ms: float | None = None) -> Axes:
    """p50/p95/p99 over time (Locust's 10 s window), with the SLO as a dashed line."""
    title = "Response time percentiles (all endpoints)"
    if latency.dropna(how="all").empty:
        return no_data(ax, title)
    for column in latency.columns:
        ax.plot(
            latency.index,
            latency[column],
            label=column.removesuffix("_ms"),
            color=PERCENTILE_COLOURS.get(column),
            linewidth=1.2,
        )
    if slo_p95_ms is not None:
        ax.axhline(slo_p95_ms, label=f"SLO p95 {slo_p95_ms:g} ms", **SLO_STYLE)  # type: ignore[arg-type]
    ax.set_ylim(bottom=0)
    return _over_time(ax, title=title, ylabel="ms")


def plot_error_rate(ax: Axes, errors: pd.Series, *, max_error_rate: float | None = None) -> Axes:
    title = "Error rate"
    if errors.dropna().empty:
        return no_data(ax, title)
    ax.plot(errors.index, errors.fillna(0.0), color="#c44e52", linewidth=1.2, label="failed")
    if max_error_rate is not None:
        ax.axhline(max_error_rate, label=f"SLO {max_error_rate:.1%}", **SLO_STYLE)  # type: ignore[arg-type]
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_ylim(bottom=0, top=max(float(errors.max()) * 1.2, (max_error_rate or 0.0) * 2, 0.02))
    return _over_time(ax, title=title, ylabel="failed requests")


def plot_users(ax: Axes, users: pd.Series) -> Axes:
    title = "Simulated users"
    if users.empty:
        return no_data(ax, title)
    ax.step(users.index, users, where="post", color="#55a868")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(title)
    ax.set_ylabel("users")
    ax.set_ylim(bottom=0)
    _time_axis(ax)
    return ax


def plot_endpoint_latency(ax: Axes, endpoints: pd.DataFrame) -> Axes:
    """Grouped bars: p50/p95/p99 per endpoint over the whole run."""
    title = "Response time by endpoint (whole run)"
    columns = [c for c in PERCENTILE_COLOURS if c in endpoints.columns]
    if endpoints.empty or not columns:
        return no_data(ax, title)
    table = endpoints.set_index("endpoint")[columns]
    width = 0.8 / len(columns)
    positions = range(len(table))
    for i, column in enumerate(columns):
        ax.bar(
            [p + (i - (len(columns) - 1) / 2) * width for p in positions],
            table[column],
            width=width,
            label=column.removesuffix("_ms"),
            color=PERCENTILE_COLOURS[column],
        )
    ax.set_xticks(list(positions), list(table.index), rotation=15, ha="right", fontsize="small")
    ax.set_title(title)
    ax.set_ylabel("ms")
    ax.grid(True, axis="y", alpha=0.3)
    _legend(ax)
    return ax


def plot_mix(ax: Axes, mix: pd.DataFrame) -> Axes:
    """Observed share of requests per endpoint beside the share the scenario intended."""
    title = "Traffic mix: observed vs intended"
    if mix.empty:
        return no_data(ax, title)
    positions = list(range(len(mix)))
    has_intended = bool(mix["intended"].notna().any())
    offset = 0.2 if has_intended else 0.0
    ax.bar([p - offset for p in positions], mix["observed"], width=0.4, label="observed")
    if has_intended:
        ax.bar(
            [p + offset for p in positions],
            mix["intended"].fillna(0.0),
            width=0.4,
            label="intended",
            color="lightgrey",
            edgecolor="grey",
        )
    else:
        title = "Traffic mix (no intended mix recorded in run.json)"
    ax.set_xticks(positions, list(mix.index), rotation=15, ha="right", fontsize="small")
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_title(title)
    ax.set_ylabel("share of requests")
    ax.grid(True, axis="y", alpha=0.3)
    _legend(ax)
    return ax


def plot_lines(
    ax: Axes, table: pd.DataFrame, *, title: str, ylabel: str, percent: bool = False
) -> Axes:
    """Generic time series (server-side counters and gauges): one line per column."""
    if table.empty or table.dropna(how="all").empty:
        return no_data(ax, title, "not in this run's /metrics snapshots")
    for column in table.columns:
        marker = "." if len(table) <= MARKERS_UP_TO else None
        ax.plot(table.index, table[column], marker=marker, linewidth=1.2, label=str(column))
    if percent:
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        ax.set_ylim(0, 1.05)
    elif float(table.max().max()) == 0.0:
        # All zero is a finding (nothing refused, nothing failed): say it, on a sane scale.
        ax.set_ylim(0, 1)
        ax.text(0.5, 0.6, "none during the run", ha="center", transform=ax.transAxes, color="grey")
    else:
        ax.set_ylim(bottom=0)
    return _over_time(ax, title=title, ylabel=ylabel)


def plot_pool(ax: Axes, in_use: pd.DataFrame, size: pd.Series) -> Axes:
    """Connections in use per pool, with each pool's size as a dashed ceiling."""
    title = "Database connections in use"
    if in_use.empty:
        return no_data(ax, title, "not in this run's /metrics snapshots")
    for pool in in_use.columns:
        marker = "." if len(in_use) <= MARKERS_UP_TO else None
        line = ax.plot(in_use.index, in_use[pool], marker=marker, label=f"{pool} in use")[0]
        if pool in size.index:
            ax.axhline(
                float(size[pool]),
                color=line.get_color(),
                linestyle="--",
                linewidth=0.8,
                label=f"{pool} size",
            )
    ax.set_ylim(
        bottom=0,
        top=max(float(size.max()) if not size.empty else 0.0, float(in_use.max().max())) * 1.15
        + 0.5,
    )
    return _over_time(ax, title=title, ylabel="connections")


def plot_stages(ax: Axes, stages: Sequence[MeasuredStage], *, slo_p95_ms: float) -> Axes:
    """Step run: throughput per stage (bars, green when the SLO held) and p95 (line)."""
    title = "Step stages: throughput and p95"
    if not stages:
        return no_data(ax, title)
    labels = [str(s.users) for s in stages]
    colours = ["#55a868" if s.met_slo else "#c44e52" for s in stages]
    ax.bar(labels, [s.rps for s in stages], color=colours, alpha=0.8)
    ax.set_xlabel("users (green: met the SLO, red: broke it)")
    ax.set_ylabel("requests/s")
    ax.set_title(title)
    latency_ax = ax.twinx()
    p95 = [s.p95_ms if s.p95_ms is not None else float("nan") for s in stages]
    latency_ax.plot(labels, p95, color="black", marker="o", label="p95")
    latency_ax.axhline(slo_p95_ms, label=f"SLO p95 {slo_p95_ms:g} ms", **SLO_STYLE)  # type: ignore[arg-type]
    latency_ax.set_ylabel("p95 (ms)")
    latency_ax.set_ylim(bottom=0)
    latency_ax.legend(fontsize="small", loc="upper left")
    return ax


def plot_overlay(
    ax: Axes, current: pd.Series, baseline: pd.Series, *, title: str, ylabel: str
) -> Axes:
    """The same series from two runs on one time axis: current solid, baseline dashed."""
    if current.dropna().empty and baseline.dropna().empty:
        return no_data(ax, title)
    ax.plot(baseline.index, baseline, linestyle="--", color="grey", label="baseline")
    ax.plot(current.index, current, color="#4c72b0", label="current")
    ax.set_ylim(bottom=0)
    return _over_time(ax, title=title, ylabel=ylabel)
