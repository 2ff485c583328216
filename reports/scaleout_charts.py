"""The scale-out charts, as functions of the document and an `Axes` (no pyplot).

`plot_scaleout`: the measured X(N) with each point's spread (min to max of its repeats),
fitted points filled, the others hollow and labelled with what limited them; the USL fit;
linear from X(1). `plot_seed_extrapolation`: the same curve out to the seed's 100 instances,
with the fit's 95 % interval at N = 100, the seed's 10 req/s per instance, the linear line and
the bottleneck tier's fleet bound.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.ticker import MaxNLocator

from reports.charts import no_data
from reports.figures import Chart, render
from rundir.scaleout_json import ScaleoutDocument, ScaleoutPoint

FIT_STYLE: dict[str, Any] = {"color": "#4c72b0", "linewidth": 2.0}
LINEAR_STYLE: dict[str, Any] = {"color": "grey", "linestyle": "--", "linewidth": 1.0}
SEED_STYLE: dict[str, Any] = {"color": "#c44e52", "linestyle": ":", "linewidth": 1.5}
BOUND_STYLE: dict[str, Any] = {"color": "#dd8452", "linestyle": "-.", "linewidth": 1.2}
CURVE_POINTS = 200


def scaleout_charts(document: ScaleoutDocument) -> list[Chart]:
    return [
        render("Throughput by instance count", lambda ax: plot_scaleout(ax, document)),
        render(
            "Extrapolated to the seed's fleet", lambda ax: plot_seed_extrapolation(ax, document)
        ),
    ]


def plot_scaleout(ax: Axes, document: ScaleoutDocument) -> Axes:
    points = document.points
    if not points:
        return no_data(ax, "Throughput by instance count", "no point was measured")
    ax.set_title("Throughput by instance count")
    top = max(p.instances for p in points)
    _measured(ax, [p for p in points if p.fitted], filled=True)
    unfitted = [p for p in points if not p.fitted]
    _measured(ax, unfitted, filled=False)
    for point in unfitted:
        ax.annotate(
            point.first_limit or "no verdict",
            (point.instances, point.throughput_rps),
            textcoords="offset points",
            xytext=(6, -12),
            fontsize=8,
            color="#b3261e",
        )
    ns = np.linspace(1.0, top + 0.5, CURVE_POINTS)
    fit = document.fit
    if fit is not None:
        ax.plot(ns, [fit.predict(n) for n in ns], label=_fit_label(document), **FIT_STYLE)
    x1 = _x1(points)
    if x1 is not None:
        ax.plot(ns, x1 * ns, label=f"linear from X(1) = {x1:,.0f} req/s", **LINEAR_STYLE)
    ax.set_xlabel("instances N")
    ax.set_ylabel("throughput (req/s)")
    ax.set_xlim(0.5, top + 0.5)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    return ax


def _measured(ax: Axes, points: Sequence[ScaleoutPoint], *, filled: bool) -> None:
    if not points:
        return
    xs = [p.instances for p in points]
    ys = [p.throughput_rps for p in points]
    below = [
        p.throughput_rps - (p.spread.min_rps if p.spread else p.throughput_rps) for p in points
    ]
    above = [
        (p.spread.max_rps if p.spread else p.throughput_rps) - p.throughput_rps for p in points
    ]
    ax.errorbar(
        xs,
        ys,
        yerr=[below, above],
        fmt="o",
        color="black" if filled else "#b3261e",
        markerfacecolor="black" if filled else "white",
        capsize=4,
        label="measured (median, min-max of repeats)" if filled else "not fitted (limit named)",
        zorder=3,
    )


def plot_seed_extrapolation(ax: Axes, document: ScaleoutDocument) -> Axes:
    line = document.seed_line
    fit = document.fit
    if line is None or (fit is None and line.linear_from_x1_rps is None):
        return no_data(ax, "Extrapolated to the seed's fleet", "no fit and no X(1)")
    n = line.instances
    ax.set_title(f"Extrapolated to N = {n} (seed: {line.seed_assumed_rps:,.0f} req/s)")
    ns = np.linspace(1.0, float(n), CURVE_POINTS)
    if fit is not None:
        ax.plot(ns, [fit.predict(v) for v in ns], label="USL fit", **FIT_STYLE)
        if line.predicted_rps is not None and line.interval is not None:
            ax.errorbar(
                [n],
                [line.predicted_rps],
                yerr=[
                    [line.predicted_rps - line.interval.low],
                    [line.interval.high - line.predicted_rps],
                ],
                fmt="s",
                color=FIT_STYLE["color"],
                capsize=5,
                label=f"X({n}), {fit.confidence:.0%} interval",
            )
    if line.linear_from_x1_rps is not None:
        ax.plot(ns, line.linear_from_x1_rps / n * ns, label="linear from X(1)", **LINEAR_STYLE)
    ax.plot(
        ns, line.seed_per_instance_rps * ns, label="the seed: 10 req/s per instance", **SEED_STYLE
    )
    bottleneck = document.bottleneck
    if bottleneck is not None:
        ax.axhline(
            bottleneck.fleet_bound_rps, label=f"{bottleneck.tier} bounds the fleet", **BOUND_STYLE
        )
    ax.set_xlabel("instances N")
    ax.set_ylabel("throughput (req/s)")
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    return ax


def _x1(points: Sequence[ScaleoutPoint]) -> float | None:
    return next((p.throughput_rps for p in points if p.instances == 1), None)


def _fit_label(document: ScaleoutDocument) -> str:
    fit = document.fit
    assert fit is not None
    return f"USL fit (sigma {fit.sigma:.3g}, kappa {fit.kappa:.3g})"
