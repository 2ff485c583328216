"""Prometheus metrics of the reference service, one registry per app instance.

Names are a contract: the reports package reads them from `/metrics` snapshots. With
`--workers N` the server sets prometheus_client's multiprocess directory before the workers
start: every worker's values then live in files there, and `/metrics` (whichever worker
answers) describes the whole instance.
"""

from __future__ import annotations

import os
from pathlib import Path

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    multiprocess,
)
from prometheus_client.process_collector import ProcessCollector

from target_service.cap_metrics import CpuCapCollector
from target_service.process_metrics import CoresCollector, InstanceCollector

# A bound at the SLO (100 ms) and several around it, so p95 against the SLO is readable.
LATENCY_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.075,
    0.1,
    0.125,
    0.15,
    0.2,
    0.25,
    0.5,
    1.0,
    2.5,
)


class ServiceMetrics:
    """The service's collectors. Pass one instance down; never use the global registry."""

    def __init__(
        self, registry: CollectorRegistry | None = None, *, multiprocess_dir: Path | None = None
    ) -> None:
        # No `*_created` series: a gauge per labelled counter that nothing here reads (the
        # switch is prometheus_client's and process-wide).
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = registry or CollectorRegistry()
        self.multiprocess_dir = multiprocess_dir
        r = self.registry
        if multiprocess_dir is None:
            ProcessCollector(registry=r)
            r.register(CoresCollector())
            r.register(CpuCapCollector())
        self.http_requests = Counter(
            "loadcap_http_requests",
            "HTTP requests by method, route template and status.",
            ["method", "route", "status"],
            registry=r,
        )
        self.http_latency = Histogram(
            "loadcap_http_request_duration_seconds",
            "Request latency by method and route.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.cache_requests = Counter(
            "loadcap_cache_requests",
            "Cache lookups by kind (profile, list) and result (hit, miss).",
            ["kind", "result"],
            registry=r,
        )
        self.local_cache_hits = Counter(
            "loadcap_local_cache_hits",
            "Cache hits served by the in-process L1 (a subset of the hits above, no round trip).",
            ["kind"],
            registry=r,
        )
        self.cache_invalidations_received = Counter(
            "loadcap_cache_invalidations_received",
            "Invalidation messages applied from the shared feed (every instance's writes).",
            registry=r,
        )
        self.cache_errors = Counter(
            "loadcap_cache_errors",
            "Cache backend errors (the request fell through to the database).",
            registry=r,
        )
        self.rate_limit_errors = Counter(
            "loadcap_rate_limit_errors",
            "Rate limiter storage errors (the request was let through: the limit fails open).",
            registry=r,
        )
        self.db_queries = Counter(
            "loadcap_db_queries",
            "Database queries by pool (master, replica0, ...) and kind (read, write, position).",
            ["pool", "kind"],
            registry=r,
        )
        self.db_read_seconds = Counter(
            "loadcap_db_read_seconds",
            "Seconds spent running read queries by pool (statement sent to rows received; not "
            "pool waits or GTID waits): with the read count, the mean query time.",
            ["pool"],
            registry=r,
        )
        self.db_pool_size = Gauge(
            "loadcap_db_pool_size",
            "Configured connections per pool.",
            ["pool"],
            registry=r,
            multiprocess_mode="livesum",
        )
        self.db_pool_in_use = Gauge(
            "loadcap_db_pool_in_use",
            "Connections checked out per pool.",
            ["pool"],
            registry=r,
            multiprocess_mode="livesum",
        )
        self.replica_in_rotation = Gauge(
            "loadcap_replica_in_rotation",
            "1 while a replica serves reads, 0 while it is out.",
            ["pool"],
            registry=r,
            multiprocess_mode="livemin",
        )
        self.replica_lag = Gauge(
            "loadcap_replica_lag_seconds",
            "Replication lag of each replica at its last probe (absent until measured).",
            ["pool"],
            registry=r,
            multiprocess_mode="livemax",
        )
        self.replica_max_lag = Gauge(
            "loadcap_replica_max_lag_seconds",
            "The lag above which a replica leaves the rotation (LOADCAP_REPLICA_MAX_LAG_S).",
            registry=r,
            multiprocess_mode="livemax",
        )
        self.replica_fallbacks = Counter(
            "loadcap_replica_fallbacks",
            "Reads sent to the master instead of a replica, by reason "
            "(down, lag, read_your_writes).",
            ["reason"],
            registry=r,
        )
        self.rate_limited = Counter(
            "loadcap_rate_limited",
            "Requests answered 429 by the rate limiter.",
            registry=r,
        )

    def exposition(self) -> CollectorRegistry:
        """The registry `/metrics` renders: this process's, or the whole instance's."""
        if self.multiprocess_dir is None:
            return self.registry
        instance = CollectorRegistry()
        multiprocess.MultiProcessCollector(  # type: ignore[no-untyped-call]
            instance, path=str(self.multiprocess_dir)
        )
        instance.register(InstanceCollector(os.getppid()))
        instance.register(CpuCapCollector())  # one cgroup for all workers: read once
        return instance

    def process_exited(self) -> None:
        """A worker's live gauges leave the instance's sums when it stops."""
        if self.multiprocess_dir is not None:
            multiprocess.mark_process_dead(  # type: ignore[no-untyped-call]
                os.getpid(), str(self.multiprocess_dir)
            )
