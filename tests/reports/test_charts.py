"""Charts draw what the run holds on the Axes they are given, and say so when there is nothing."""

from __future__ import annotations

import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from reports import charts, figures, metrics
from reports.load import load_run_data
from reports.saturation import analyse
from reports.slo import Slo
from tests.reports.recorded import RUNS, STEP

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _axes() -> Axes:
    return Figure().add_subplot()


def test_every_chart_of_a_recorded_step_run_renders_as_png() -> None:
    data = load_run_data(RUNS / STEP)
    slo = Slo()

    drawn = [
        *figures.client_charts(data, slo),
        *figures.saturation_charts(analyse(data, slo), slo),
        *figures.server_charts(data.snapshots),
    ]

    assert [c.title for c in drawn] == [
        "Throughput",
        "Latency",
        "Errors",
        "Users",
        "Endpoints",
        "Mix",
        "Stages",
        "Cache",
        "Queries",
        "Pool",
        "Refused",
    ]
    assert all(c.png.startswith(PNG_MAGIC) for c in drawn)


def test_throughput_has_a_line_per_endpoint_and_labelled_axes() -> None:
    history = load_run_data(RUNS / STEP).history
    assert history is not None
    table = metrics.throughput(history)

    ax = charts.plot_throughput(_axes(), table)

    labels = [line.get_label() for line in ax.get_lines()]
    assert "all endpoints" in labels and "GET /api/profiles" in labels
    assert ax.get_ylabel() == "requests/s"
    assert ax.get_xlabel().startswith("time since start")


def test_latency_shows_the_slo_line() -> None:
    table = pd.DataFrame({"p50_ms": [1.0, 2.0], "p95_ms": [5.0, 6.0]}, index=[1.0, 2.0])

    ax = charts.plot_latency(_axes(), table, slo_p95_ms=100)

    assert "SLO p95 100 ms" in [line.get_label() for line in ax.get_lines()]


@pytest.mark.parametrize(
    "draw",
    [
        lambda ax: charts.plot_throughput(ax, pd.DataFrame()),
        lambda ax: charts.plot_error_rate(ax, pd.Series(dtype=float)),
        lambda ax: charts.plot_lines(ax, pd.DataFrame(), title="Cache", ylabel="ratio"),
        lambda ax: charts.plot_pool(ax, pd.DataFrame(), pd.Series(dtype=float)),
    ],
)
def test_an_empty_series_says_so_instead_of_a_blank_frame(draw: object) -> None:
    ax = draw(_axes())  # type: ignore[operator]

    assert any("no data" in t.get_text() or "not in this run" in t.get_text() for t in ax.texts)
    assert not ax.get_lines()


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "0:00"), (75, "1:15"), (3600, "1:00:00"), (3725, "1:02:05")]
)
def test_time_axis_reads_as_a_clock(seconds: float, text: str) -> None:
    assert charts._clock(seconds) == text


def test_a_long_history_is_thinned_but_keeps_exact_counts() -> None:
    seconds = pd.Index([float(s) for s in range(3601)])
    history = pd.DataFrame(
        {
            "elapsed_s": list(seconds),
            "endpoint": "Aggregated",
            "users": 10,
            "requests": [100.0 * s for s in range(3601)],
        }
    )

    table = metrics.throughput(history)

    assert len(table) <= metrics.MAX_POINTS
    assert table["Aggregated"].tolist() == pytest.approx([100.0] * len(table))
