"""The service's Prometheus metrics: their names, and what their `/metrics` snapshots say (pure
functions on the frame `prom` builds).

Counters are cumulative since the service started, so everything here differences
consecutive snapshots; a counter that goes down means the service restarted, and the new
value is then the increase.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

REQUESTS = "loadcap_http_requests_total"
LATENCY_BUCKET = "loadcap_http_request_duration_seconds_bucket"
CACHE = "loadcap_cache_requests_total"
CACHE_ERRORS = "loadcap_cache_errors_total"
QUERIES = "loadcap_db_queries_total"
READ_SECONDS = "loadcap_db_read_seconds_total"
POOL_SIZE = "loadcap_db_pool_size"
POOL_IN_USE = "loadcap_db_pool_in_use"
FALLBACKS = "loadcap_replica_fallbacks_total"
RATE_LIMITED = "loadcap_rate_limited_total"
RATE_LIMIT_ERRORS = "loadcap_rate_limit_errors_total"
PROCESS_CPU = "process_cpu_seconds_total"
CORES_AVAILABLE = "loadcap_cpu_cores_available"
# The CPU quota of the service's cgroup and its CFS throttling (only under a cap).
CPU_QUOTA = "loadcap_cpu_quota_cores"
CPU_PERIODS = "loadcap_cpu_periods_total"
CPU_THROTTLED_PERIODS = "loadcap_cpu_throttled_periods_total"
CPU_THROTTLED_SECONDS = "loadcap_cpu_throttled_seconds_total"
# Requests the service counts that the load test did not send (the scrapes themselves).
NOT_LOAD_ROUTES = ("/metrics", "/health")


def series(snapshots: pd.DataFrame, sample: str, by: Sequence[str] = ()) -> pd.DataFrame:
    """One column per label combination in `by` (summed over other labels), one row per
    snapshot, indexed by the snapshot's `elapsed_s`. Empty when the sample never appears."""
    rows = snapshots[snapshots["sample"] == sample]
    if rows.empty:
        return pd.DataFrame()
    if by:
        keys = rows[list(by)].astype(object).fillna("").astype(str).agg("/".join, axis=1)
        table = rows.assign(series=keys).pivot_table(
            index="elapsed_s", columns="series", values="value", aggfunc="sum"
        )
    else:
        table = rows.groupby("elapsed_s")[["value"]].sum().rename(columns={"value": "total"})
    table.columns.name = None
    # A snapshot without the sample still happened: counters created later were at zero then.
    return table.reindex(sorted(snapshots["elapsed_s"].unique()))


def increases(counters: pd.DataFrame) -> pd.DataFrame:
    """Per-interval increase of cumulative counters; the first snapshot's row is 0."""
    # A series first seen mid-run counted from zero before it appeared.
    filled = counters.ffill().fillna(0.0)
    steps = filled.diff().fillna(0.0)
    return steps.where(steps >= 0, filled)  # a drop is a restart: the new value is the increase


def total_increase(snapshots: pd.DataFrame, sample: str, by: Sequence[str] = ()) -> pd.Series:
    """How much each counter grew between the first and the last snapshot."""
    table = series(snapshots, sample, by)
    return increases(table).sum() if not table.empty else pd.Series(dtype=float)


def rates(snapshots: pd.DataFrame, sample: str, by: Sequence[str] = ()) -> pd.DataFrame:
    """Per-second rate over each interval, indexed by the interval's end (`elapsed_s`)."""
    table = series(snapshots, sample, by)
    if len(table) < 2:
        return pd.DataFrame()
    seconds = pd.Series(table.index, index=table.index).diff()
    return increases(table).iloc[1:].div(seconds.iloc[1:], axis=0)


def cache_hit_ratio(snapshots: pd.DataFrame) -> float | None:
    """Hits / lookups over the whole run, all cache kinds together; None without lookups."""
    grown = total_increase(snapshots, CACHE, ["result"])
    lookups = float(grown.sum()) if not grown.empty else 0.0
    return float(grown.get("hit", 0.0)) / lookups if lookups else None


def cache_hit_ratio_over_time(snapshots: pd.DataFrame) -> pd.DataFrame:
    """Hit ratio per interval, one column per cache kind (profile, list); NaN without lookups."""
    table = series(snapshots, CACHE, ["kind", "result"])
    if len(table) < 2:
        return pd.DataFrame()
    grown = increases(table).iloc[1:]
    ratios = {}
    for kind in sorted({column.split("/")[0] for column in grown.columns}):
        hits = grown.get(f"{kind}/hit", pd.Series(0.0, index=grown.index))
        lookups = hits + grown.get(f"{kind}/miss", pd.Series(0.0, index=grown.index))
        ratios[kind] = (hits / lookups.replace(0.0, np.nan)).astype(float)
    return pd.DataFrame(ratios)


def queries_by_pool(snapshots: pd.DataFrame) -> dict[str, int]:
    """Queries each pool served during the run (master, replica0, ...)."""
    grown = total_increase(snapshots, QUERIES, ["pool"])
    return {str(pool): round(float(count)) for pool, count in grown.items()}


def replica_read_share(snapshots: pd.DataFrame) -> float | None:
    """Reads served by replicas / all database reads; None without replicas or reads."""
    grown = total_increase(snapshots, QUERIES, ["pool", "kind"])
    reads = {
        str(key).partition("/")[0]: float(n)
        for key, n in grown.items()
        if str(key).endswith("/read")
    }
    total = sum(reads.values())
    if not total or not any(pool.startswith("replica") for pool in reads):
        return None
    return sum(n for pool, n in reads.items() if pool.startswith("replica")) / total


def replica_query_ms(snapshots: pd.DataFrame) -> float | None:
    """Mean time of a read on the replicas (statement sent to rows received), in ms: the
    service's read-seconds counter over its read count; None without replica reads."""
    seconds = total_increase(snapshots, READ_SECONDS, ["pool"])
    grown = total_increase(snapshots, QUERIES, ["pool", "kind"])
    replica_seconds = sum(float(v) for k, v in seconds.items() if str(k).startswith("replica"))
    reads = sum(
        float(n)
        for key, n in grown.items()
        if str(key).startswith("replica") and str(key).endswith("/read")
    )
    return round(1000.0 * replica_seconds / reads, 3) if reads and replica_seconds else None


def pool_usage(snapshots: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """(connections in use per pool over time, configured size per pool)."""
    in_use = series(snapshots, POOL_IN_USE, ["pool"])
    size = series(snapshots, POOL_SIZE, ["pool"])
    return in_use, size.max() if not size.empty else pd.Series(dtype=float)


def status_rates(snapshots: pd.DataFrame) -> pd.DataFrame:
    """Responses per second by status class (2xx, 4xx, 429, 5xx) over time."""
    table = rates(snapshots, REQUESTS, ["status"])
    if table.empty:
        return table
    classes = ["429" if str(s) == "429" else f"{str(s)[:1]}xx" for s in table.columns]
    return table.T.groupby(classes).sum().T


def latency_quantile(
    snapshots: pd.DataFrame, quantile: float, *, start_s: float, end_s: float
) -> float | None:
    """Server-side latency quantile (ms) over [start_s, end_s], all routes, from the histogram.

    Linear interpolation inside the bucket, as Prometheus' histogram_quantile does.
    """
    table = series(snapshots, LATENCY_BUCKET, ["le"])
    inside = table[(table.index >= start_s) & (table.index <= end_s)]
    if len(inside) < 2:
        return None
    counts = increases(inside).sum()
    bounds = sorted(((float(le), float(counts[le])) for le in counts.index), key=lambda b: b[0])
    total = bounds[-1][1] if bounds else 0.0
    if total <= 0:
        return None
    rank, lower_bound, lower_count = quantile * total, 0.0, 0.0
    for bound, cumulative in bounds:
        if cumulative >= rank:
            if np.isinf(bound):
                return lower_bound * 1000.0
            share = (rank - lower_count) / max(cumulative - lower_count, 1e-12)
            return (lower_bound + (bound - lower_bound) * share) * 1000.0
        lower_bound, lower_count = bound, cumulative
    return lower_bound * 1000.0


def counter_increase(
    snapshots: pd.DataFrame, sample: str, first_s: float, last_s: float
) -> float | None:
    """How much a counter grew from the snapshot at `first_s` to the one at `last_s`,
    all label sets together; None when the sample is not exported. For the request
    counter, the scrapes themselves are left out."""
    rows = snapshots[snapshots["sample"] == sample]
    if sample == REQUESTS:
        rows = rows[~rows["route"].isin(NOT_LOAD_ROUTES)]
    if rows.empty:
        return None
    # Snapshots before the counter's first sample still happened: it was at zero then.
    table = series(rows, sample).reindex(sorted(snapshots["elapsed_s"].unique()))
    inside = table[(table.index >= first_s) & (table.index <= last_s)]
    if len(inside) < 2:
        return None
    return float(increases(inside)["total"].iloc[1:].sum())


def cores_available(snapshots: pd.DataFrame) -> float | None:
    """The cores the service said it can use (loadcap_cpu_cores_available), if it says."""
    values = snapshots.loc[snapshots["sample"] == CORES_AVAILABLE, "value"]
    return float(values.max()) if not values.empty else None


def cpu_quota(snapshots: pd.DataFrame) -> float | None:
    """The CPU quota (cores) the service ran under, if it had one: the tightest it said."""
    values = snapshots.loc[snapshots["sample"] == CPU_QUOTA, "value"]
    return float(values.min()) if not values.empty else None


def snapshot_times(snapshots: pd.DataFrame, start_s: float, end_s: float) -> list[float]:
    """Elapsed seconds of the snapshots taken within [start_s, end_s]."""
    times = snapshots["elapsed_s"].unique()
    return sorted(float(t) for t in times if start_s <= t <= end_s)
