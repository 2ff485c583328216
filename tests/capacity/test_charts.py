"""Charts draw what they claim on an Axes and save only to image formats."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from capacity.autoscale import ScalingPolicy, profile_from_shape, simulate_day
from capacity.charts import (
    LinearSeries,
    new_figure,
    plot_autoscale_day,
    plot_instances_vs_load,
    plot_usl,
    save_figure,
    sweep_loads,
)
from capacity.errors import CapacityInputError
from capacity.usl import fit_usl, usl_throughput


def test_usl_plot_marks_the_peak() -> None:
    n = np.array([1, 4, 8, 16, 32, 64], dtype=float)
    x = usl_throughput(n, 0.02, 0.001, 100.0)
    fit = fit_usl(list(n), list(x))
    ax = plot_usl(new_figure(1).add_subplot(), fit, list(n), list(x))
    texts = [t.get_text() for t in ax.texts]
    assert any(t.startswith("peak N* = 31.3") for t in texts)
    assert {line.get_label() for line in ax.get_lines()} >= {"USL fit"}


def test_sweep_marks_loads_beyond_the_usl_peak_as_unreachable() -> None:
    n = np.array([1, 2, 4, 8, 16, 32], dtype=float)
    fit = fit_usl(list(n), list(usl_throughput(n, 0.05, 0.001, 100.0)))
    sweep = sweep_loads(
        linear={"seed": LinearSeries(10, 1.0, 0)},
        fit=fit,
        utilization=0.7,
        redundancy=1,
        hourly_usd=0.0416,
        hours_per_month=730,
        loads=[100.0, 1000.0, 100_000.0],
    )
    assert sweep.series["seed"] == [10.0, 100.0, 10_000.0]
    usl = sweep.series["USL fit (N = instances)"]
    assert not math.isnan(usl[0]) and math.isnan(usl[2])
    ax = plot_instances_vs_load(new_figure(1).add_subplot(), sweep, 1000.0)
    assert ax.get_xscale() == "log"


def test_day_plot_and_saving(tmp_path: Path) -> None:
    day = simulate_day(profile_from_shape(1000), ScalingPolicy(per_instance_rps=250))
    figure = new_figure(1)
    plot_autoscale_day(figure.add_subplot(), day, 250)
    path = save_figure(figure, tmp_path / "day.svg")
    assert path.read_text(encoding="utf-8").lstrip().startswith("<?xml")
    with pytest.raises(CapacityInputError, match=r"\.png, \.svg or \.pdf"):
        save_figure(figure, tmp_path / "day.txt")
