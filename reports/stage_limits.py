"""Why a step run broke its SLO, in the stage where it did: the detail behind the USE verdict.

The evidence, in the order it is trusted: requests refused by the rate limiter, errors,
a database pool with every connection checked out, a collapse of the cache hit ratio, and
finally the gap between the latency clients saw and the latency the service measured inside
its handlers. When none of these explains the breach the sentence says so rather than guess.
Whether the load generator or the service's CPU gave out is the USE table's call
(`reports.use`), made from both sides' CPU.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from reports import service_metrics
from reports.slo import Slo

if TYPE_CHECKING:
    from reports.saturation import MeasuredStage

CACHE_COLLAPSE = 0.5  # the hit ratio fell to under half of the previous stage's
QUEUEING_FACTOR = 2.0  # clients saw at least twice the service's own p95


@dataclass(frozen=True, kw_only=True)
class StageServer:
    """Server-side facts over one stage."""

    rate_limited: float
    server_errors: float
    exhausted_pool: tuple[str, int, int] | None  # (pool, max in use, size)
    cache_hit_ratio: float | None
    server_p95_ms: float | None


def _within(frame: pd.DataFrame, start_s: float, end_s: float) -> pd.DataFrame:
    return frame[(frame["elapsed_s"] >= start_s) & (frame["elapsed_s"] <= end_s)]


def _exhausted_pool(snapshots: pd.DataFrame) -> tuple[str, int, int] | None:
    in_use, size = service_metrics.pool_usage(snapshots)
    if in_use.empty or size.empty:
        return None
    sizes = {str(pool): float(value) for pool, value in size.items()}
    for pool, peak in in_use.max().items():
        limit = sizes.get(str(pool), 0.0)
        if limit > 0 and float(peak) >= limit:
            return str(pool), int(peak), int(limit)
    return None


def stage_server(
    snapshots: pd.DataFrame | None, start_s: float, end_s: float
) -> StageServer | None:
    """The stage's server facts from the snapshots taken during it (and the one before)."""
    if snapshots is None or snapshots.empty:
        return None
    before = snapshots[snapshots["elapsed_s"] <= start_s]["elapsed_s"]
    first = float(before.max()) if not before.empty else start_s
    window = _within(snapshots, first, end_s)
    if window["elapsed_s"].nunique() < 2:
        return None
    statuses = service_metrics.total_increase(window, service_metrics.REQUESTS, ["status"])
    limited = service_metrics.total_increase(window, service_metrics.RATE_LIMITED)
    return StageServer(
        rate_limited=float(limited.sum()) + float(statuses.get("429", 0.0)),
        server_errors=float(statuses[[s for s in statuses.index if str(s).startswith("5")]].sum()),
        exhausted_pool=_exhausted_pool(window),
        cache_hit_ratio=service_metrics.cache_hit_ratio(window),
        server_p95_ms=service_metrics.latency_quantile(window, 0.95, start_s=first, end_s=end_s),
    )


def _top_error(failures: pd.DataFrame) -> str:
    if failures.empty or "occurrences" not in failures.columns:
        return ""
    top = failures.sort_values("occurrences", ascending=False).iloc[0]
    return f" (most frequent: {top['error']})"


def limit_sentence(
    stage: MeasuredStage,
    now: StageServer | None,
    previous: StageServer | None,
    *,
    slo: Slo,
    failures: pd.DataFrame,
    log_lines: Sequence[str],
) -> str:
    """One sentence: what gave out first at the stage that broke the SLO."""
    at = f"at {stage.users} users ({stage.rps:.1f} req/s)"
    p95 = f"{stage.p95_ms:.0f} ms" if stage.p95_ms is not None else "unknown"
    if now is not None and now.rate_limited > 0:
        return (
            f"The rate limiter hit first: {now.rate_limited:.0f} requests were answered 429 {at}; "
            "switch rate limiting off for load tests."
        )
    if stage.error_rate > slo.max_error_rate:
        return (
            f"Errors hit first: {stage.error_rate:.1%} of requests failed {at}, over the "
            f"{slo.max_error_rate:.1%} allowed{_top_error(failures)}."
        )
    if now is not None and now.exhausted_pool is not None:
        pool, peak, size = now.exhausted_pool
        return (
            f"The database connection pool '{pool}' hit first: {peak} of {size} connections "
            f"were in use {at}, and p95 rose to {p95}."
        )
    if (
        now is not None
        and previous is not None
        and now.cache_hit_ratio is not None
        and previous.cache_hit_ratio
        and now.cache_hit_ratio < CACHE_COLLAPSE * previous.cache_hit_ratio
    ):
        return (
            f"The cache hit first: its hit ratio collapsed from {previous.cache_hit_ratio:.0%} "
            f"to {now.cache_hit_ratio:.0%} {at}, and p95 rose to {p95}."
        )
    return _latency_sentence(stage, now, at=at, p95=p95, slo=slo)


def _latency_sentence(
    stage: MeasuredStage, now: StageServer | None, *, at: str, p95: str, slo: Slo
) -> str:
    """No resource ran out visibly: compare what clients saw with what the handlers took."""
    if now is not None and now.server_p95_ms is not None and stage.p95_ms is not None:
        if stage.p95_ms >= QUEUEING_FACTOR * max(now.server_p95_ms, 1.0):
            return (
                f"Latency hit first: clients saw p95 {p95} {at} while the service's handlers "
                f"took {now.server_p95_ms:.0f} ms (p95), so requests queued outside them — "
                "the service's event loop/CPU or the load generator (see the USE table)."
            )
        return (
            f"Latency hit first: the service's own p95 rose to {now.server_p95_ms:.0f} ms {at} "
            f"(clients saw {p95}) with no pool, cache or error limit visible: the handlers "
            "themselves slowed down (CPU or database)."
        )
    return (
        f"Latency hit first: p95 reached {p95} {at} (SLO {slo.p95_ms:.0f} ms); without server "
        "metrics for this stage, which resource ran out cannot be told."
    )
