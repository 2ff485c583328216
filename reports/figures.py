"""Draw a run's charts into PNG images (Agg, no pyplot, no global state).

Each chart is drawn by a function of `reports.charts` on its own `Figure`, so the page
modules only place images; they never touch matplotlib.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from reports import charts, metrics, service_metrics, windows
from reports.generator import cpu_over_time
from reports.load import RunData
from reports.locust_csv import AGGREGATED
from reports.saturation import Saturation
from reports.slo import Slo

SIZE = (8.0, 3.4)
DPI = 96


@dataclass(frozen=True)
class Chart:
    title: str
    png: bytes


def render(
    title: str, draw: Callable[[Axes], object], *, size: tuple[float, float] = SIZE
) -> Chart:
    figure = Figure(figsize=size, dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    draw(figure.add_subplot())
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return Chart(title, buffer.getvalue())


def client_charts(data: RunData, slo: Slo) -> list[Chart]:
    """Throughput, latency, errors, users, per-endpoint latency, mix."""
    history = data.history if data.history is not None else pd.DataFrame()
    has_history = not history.empty
    throughput = (
        windows.throughput(data.windows, max_points=metrics.MAX_POINTS)
        if data.windows is not None
        else metrics.throughput(history)
        if has_history
        else pd.DataFrame()
    )
    latency = metrics.latency(history) if has_history else pd.DataFrame()
    errors = metrics.error_rate(history) if has_history else pd.Series(dtype=float)
    users = metrics.users(history) if has_history else pd.Series(dtype=float)
    mix = metrics.mix(data.endpoints, data.run.mix if data.run is not None else None)
    return [
        render("Throughput", lambda ax: charts.plot_throughput(ax, throughput)),
        render("Latency", lambda ax: charts.plot_latency(ax, latency, slo_p95_ms=slo.p95_ms)),
        render(
            "Errors",
            lambda ax: charts.plot_error_rate(ax, errors, max_error_rate=slo.max_error_rate),
        ),
        render("Users", lambda ax: charts.plot_users(ax, users)),
        render("Endpoints", lambda ax: charts.plot_endpoint_latency(ax, data.endpoints)),
        render("Mix", lambda ax: charts.plot_mix(ax, mix)),
    ]


def saturation_charts(saturation: Saturation | None, slo: Slo) -> list[Chart]:
    if saturation is None:
        return []
    return [
        render(
            "Stages", lambda ax: charts.plot_stages(ax, saturation.stages, slo_p95_ms=slo.p95_ms)
        )
    ]


def server_charts(snapshots: pd.DataFrame | None) -> list[Chart]:
    """Cache hit ratio, queries per pool, pool connections, refused and failed responses."""
    if snapshots is None or snapshots.empty:
        return []
    hit_ratio = service_metrics.cache_hit_ratio_over_time(snapshots)
    queries = service_metrics.rates(snapshots, service_metrics.QUERIES, ["pool"])
    in_use, size = service_metrics.pool_usage(snapshots)
    statuses = service_metrics.status_rates(snapshots)
    # Zero lines, not "no data", when the service answered but refused and failed nothing.
    trouble = statuses.reindex(columns=["429", "5xx"], fill_value=0.0).rename(
        columns={"429": "429 rate-limited", "5xx": "5xx server errors"}
    )
    return [
        render(
            "Cache",
            lambda ax: charts.plot_lines(
                ax,
                hit_ratio,
                title="Cache hit ratio by kind",
                ylabel="hits / lookups",
                percent=True,
            ),
        ),
        render(
            "Queries",
            lambda ax: charts.plot_lines(
                ax, queries, title="Database queries by pool", ylabel="queries/s"
            ),
        ),
        render("Pool", lambda ax: charts.plot_pool(ax, in_use, size)),
        render(
            "Refused",
            lambda ax: charts.plot_lines(
                ax,
                trouble,
                title="Rate-limited (429) and server errors (5xx)",
                ylabel="responses/s",
            ),
        ),
    ]


def cpu_charts(data: RunData) -> list[Chart]:
    """Both sides' CPU on one time axis: each Locust process and the service, in cores."""
    table = pd.DataFrame()
    if data.generator is not None and not data.generator.empty:
        table = cpu_over_time(data.generator).add_prefix("Locust ")
    if data.snapshots is not None and not data.snapshots.empty:
        service = service_metrics.rates(data.snapshots, service_metrics.PROCESS_CPU)
        if not service.empty:
            table = table.join(service.rename(columns={"total": "service"}), how="outer")
    if table.empty:
        return []
    return [
        render(
            "CPU",
            lambda ax: charts.plot_lines(
                ax,
                table.sort_index().interpolate(limit_area="inside"),
                title="CPU: each Locust process and the service (1.0 = one core)",
                ylabel="cores",
            ),
        )
    ]


def overlay_charts(current: RunData, baseline: RunData) -> list[Chart]:
    """Throughput and p95 of both runs on one time axis."""
    if current.history is None or baseline.history is None:
        return []
    now, then = current.history, baseline.history

    def overlay(
        name: str, series: Callable[[pd.DataFrame], pd.Series], *, title: str, ylabel: str
    ) -> Chart:
        ours, theirs = series(now), series(then)
        return render(
            name, lambda ax: charts.plot_overlay(ax, ours, theirs, title=title, ylabel=ylabel)
        )

    return [
        overlay(
            "Throughput vs baseline",
            lambda history: _column(metrics.throughput(history), AGGREGATED),
            title="Throughput: current vs baseline",
            ylabel="requests/s",
        ),
        overlay(
            "p95 vs baseline",
            lambda history: _column(metrics.latency(history), "p95_ms"),
            title="p95 response time: current vs baseline",
            ylabel="ms",
        ),
    ]


def _column(table: pd.DataFrame, name: str) -> pd.Series:
    return table[name] if name in table.columns else pd.Series(dtype=float)
