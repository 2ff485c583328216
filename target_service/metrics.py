"""Prometheus metrics of the reference service, one registry per app instance.

Names are a contract: the reports package reads them from `/metrics` snapshots.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

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

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
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
        self.cache_errors = Counter(
            "loadcap_cache_errors",
            "Cache backend errors (the request fell through to the database).",
            registry=r,
        )
        self.db_queries = Counter(
            "loadcap_db_queries",
            "Database queries by pool (master, replica0, ...) and kind (read, write, position).",
            ["pool", "kind"],
            registry=r,
        )
        self.db_pool_size = Gauge(
            "loadcap_db_pool_size",
            "Configured connections per pool.",
            ["pool"],
            registry=r,
        )
        self.db_pool_in_use = Gauge(
            "loadcap_db_pool_in_use",
            "Connections checked out per pool.",
            ["pool"],
            registry=r,
        )
        self.replica_in_rotation = Gauge(
            "loadcap_replica_in_rotation",
            "1 while a replica serves reads, 0 while it is out.",
            ["pool"],
            registry=r,
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
