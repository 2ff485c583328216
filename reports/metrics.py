"""Client-side facts from Locust's history and stats: pure functions on DataFrames.

History rows carry cumulative counts ("Total Request Count") and a current-window latency
percentile per endpoint; throughput and error rate per interval come from differencing the
counts, which is exact, rather than from Locust's smoothed "Requests/s".
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from reports.locust_csv import AGGREGATED
from reports.service_metrics import increases
from rundir.mix import ENDPOINT_NAMES

LATENCY_COLUMNS = ("p50_ms", "p95_ms", "p99_ms")
# A chart is ~700 px wide: more points than this only make noise (an hour has 3,600 rows).
MAX_POINTS = 400


def endpoint_history(history: pd.DataFrame, endpoint: str = AGGREGATED) -> pd.DataFrame:
    """The rows of one endpoint, indexed by elapsed seconds (last row wins on a repeat)."""
    rows = history[history["endpoint"] == endpoint]
    return rows.drop_duplicates("elapsed_s", keep="last").set_index("elapsed_s").sort_index()


def while_running(history: pd.DataFrame) -> pd.DataFrame:
    """Rows up to the last one with users running: after it Locust only records the stop."""
    running = history.loc[history["users"] > 0, "elapsed_s"]
    return history[history["elapsed_s"] <= running.max()] if not running.empty else history


def _per_endpoint(history: pd.DataFrame, column: str) -> pd.DataFrame:
    history = while_running(history)
    table = history.pivot_table(
        index="elapsed_s", columns="endpoint", values=column, aggfunc="last"
    )
    table.columns.name = None
    return table.sort_index()


def every_nth(frame: pd.DataFrame, max_points: int | None) -> pd.DataFrame:
    """Every n-th row (and the last) so at most `max_points` remain; counters stay exact."""
    if not max_points or len(frame) <= max_points:
        return frame
    step = -(-len(frame) // max_points)
    keep = list(range(0, len(frame), step))
    if keep[-1] != len(frame) - 1:
        keep.append(len(frame) - 1)
    return frame.iloc[keep]


def throughput(history: pd.DataFrame, *, max_points: int | None = MAX_POINTS) -> pd.DataFrame:
    """Requests per second over each history interval, one column per endpoint + Aggregated.

    Long runs are read at coarser intervals (at most `max_points`), still from exact counts.
    """
    counts = every_nth(_per_endpoint(history, "requests"), max_points)
    if len(counts) < 2:
        return pd.DataFrame()
    seconds = pd.Series(counts.index, index=counts.index).diff()
    return increases(counts).iloc[1:].div(seconds.iloc[1:], axis=0)


def error_rate(history: pd.DataFrame, *, max_points: int | None = MAX_POINTS) -> pd.Series:
    """Failed / sent over each interval, all endpoints; NaN where nothing was sent."""
    rows = every_nth(endpoint_history(while_running(history)), max_points)
    sent = rows["requests"].diff().clip(lower=0)
    failed = rows["failures"].diff().clip(lower=0)
    return (failed / sent.where(sent > 0)).iloc[1:]


def latency(
    history: pd.DataFrame, endpoint: str = AGGREGATED, *, max_points: int | None = MAX_POINTS
) -> pd.DataFrame:
    """p50/p95/p99 (ms) over time; Locust computes each over its last 10 s window.

    When a long run is thinned to `max_points`, each point is the worst value since the last,
    so a latency spike is never thinned away.
    """
    rows = endpoint_history(while_running(history), endpoint)
    present = [c for c in LATENCY_COLUMNS if c in rows.columns]
    # Locust writes 0 for every percentile while its 10 s window is still empty.
    empty_window = (rows[present] == 0).all(axis=1)
    table = rows[present].where((rows["requests"] > 0) & ~empty_window)
    if max_points and len(table) > max_points:
        window = -(-len(table) // max_points)
        table = every_nth(table.rolling(window, min_periods=1).max(), max_points)
    return table


def users(history: pd.DataFrame) -> pd.Series:
    return endpoint_history(history)["users"]


def intended_shares(run_mix: Mapping[str, float] | None) -> dict[str, float]:
    """Endpoint -> intended share of requests, from run.json's `mix` (actions or endpoints)."""
    if not run_mix:
        return {}
    # run.json's `mix` is keyed by action; the endpoint each action hits.
    weights = {ENDPOINT_NAMES.get(key, key): float(w) for key, w in run_mix.items()}
    total = sum(weights.values())
    return {endpoint: w / total for endpoint, w in weights.items()} if total > 0 else {}


def mix(endpoints: pd.DataFrame, run_mix: Mapping[str, float] | None) -> pd.DataFrame:
    """Observed vs intended share per endpoint (index: endpoint)."""
    observed = endpoints.set_index("endpoint")["requests"]
    observed = observed / observed.sum() if observed.sum() else observed
    intended = pd.Series(intended_shares(run_mix), dtype=float)
    table = pd.DataFrame({"observed": observed, "intended": intended})
    return table.fillna({"observed": 0.0}).sort_values("observed", ascending=False)
