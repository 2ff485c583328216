"""What the fleet's own counters say: requests served (from each instance's /metrics) and
each database node's connections (from the server itself).

A scale-out point's throughput is the instances' own request count over its window, summed
over the instances: exact for any number of Locust processes (whose statistics reach the
master in batches), and the same source for a local fleet and a real one (`--metrics-url`).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import asyncmy
import httpx

from rundir.errors import LoadcapError
from target_service.mysql_pool import parse_mysql_url

REQUESTS_METRIC = "loadcap_http_requests_total{"
CACHE_ERRORS_METRIC = "loadcap_cache_errors_total"
CPU_METRIC = "process_cpu_seconds_total"
CACHE_REQUESTS_METRIC = "loadcap_cache_requests_total{"
LOCAL_HITS_METRIC = "loadcap_local_cache_hits_total{"
INVALIDATIONS_METRIC = "loadcap_cache_invalidations_received_total"
DB_QUERIES_METRIC = "loadcap_db_queries_total{"
# Probes and scrapes are not the workload.
NOT_WORKLOAD = ('route="/health"', 'route="/metrics"')
SCRAPE_TIMEOUT_S = 10.0
_POOL = re.compile(r'pool="([^"]*)"')


class FleetCountersError(LoadcapError, RuntimeError):
    """An instance's /metrics could not be read; the message names it."""


@dataclass(frozen=True)
class FleetCounters:
    requests: float  # workload requests served so far
    cache_errors: float
    cpu_s: float = 0.0  # the instance's own process_cpu_seconds_total
    cache_hits: float = 0.0  # every hit, the L1's included
    cache_misses: float = 0.0
    local_hits: float = 0.0  # hits the in-process L1 served (no round trip)
    invalidations: float = 0.0  # messages applied from the shared invalidation feed
    db_queries: Mapping[str, float] = field(default_factory=dict)  # by pool

    def __sub__(self, earlier: FleetCounters) -> FleetCounters:
        return self._combine(earlier, -1.0)

    def __add__(self, other: FleetCounters) -> FleetCounters:
        return self._combine(other, 1.0)

    def _combine(self, other: FleetCounters, sign: float) -> FleetCounters:
        pools = {*self.db_queries, *other.db_queries}
        scalars = {name: getattr(self, name) + sign * getattr(other, name) for name in _SCALARS}
        return FleetCounters(
            **scalars,
            db_queries={
                pool: self.db_queries.get(pool, 0.0) + sign * other.db_queries.get(pool, 0.0)
                for pool in sorted(pools)
            },
        )


_SCALARS = (
    "requests",
    "cache_errors",
    "cpu_s",
    "cache_hits",
    "cache_misses",
    "local_hits",
    "invalidations",
)


def parse_counters(text: str) -> FleetCounters:
    """Sum of the workload's request counters, the cache's and the database queries'.

    >>> c = parse_counters('loadcap_http_requests_total{method="GET",route="/api/profiles",'
    ...                'status="200"} 7.0\\nloadcap_http_requests_total{method="GET",'
    ...                'route="/health",status="200"} 3.0\\nloadcap_cache_errors_total{} 2.0\\n'
    ...                'loadcap_cache_requests_total{kind="profile",result="hit"} 5.0\\n'
    ...                'loadcap_local_cache_hits_total{kind="profile"} 4.0\\n'
    ...                'loadcap_db_queries_total{pool="replica0",kind="read"} 1.0')
    >>> c.requests, c.cache_errors, c.cache_hits, c.local_hits, dict(c.db_queries)
    (7.0, 2.0, 5.0, 4.0, {'replica0': 1.0})
    """
    values = dict.fromkeys(_SCALARS, 0.0)
    db_queries: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("#") or " " not in line:
            continue
        value = float(line.rsplit(" ", 1)[1])
        if line.startswith(REQUESTS_METRIC):
            if not any(mark in line for mark in NOT_WORKLOAD):
                values["requests"] += value
        elif line.startswith(CACHE_ERRORS_METRIC):
            values["cache_errors"] += value
        elif line.startswith(CPU_METRIC):
            values["cpu_s"] += value
        elif line.startswith(CACHE_REQUESTS_METRIC):
            values["cache_hits" if 'result="hit"' in line else "cache_misses"] += value
        elif line.startswith(LOCAL_HITS_METRIC):
            values["local_hits"] += value
        elif line.startswith(INVALIDATIONS_METRIC):
            values["invalidations"] += value
        elif line.startswith(DB_QUERIES_METRIC) and (pool := _POOL.search(line)):
            db_queries[pool[1]] = db_queries.get(pool[1], 0.0) + value
    return FleetCounters(**values, db_queries=db_queries)


Reading = dict[str, FleetCounters | None]  # by metrics URL; None: it did not answer


def read_fleet_counters(metrics_urls: Sequence[str]) -> Reading:
    """Every instance's counters, read at once (a saturated instance answers slowly)."""
    if not metrics_urls:
        raise FleetCountersError("no instance metrics URL to read")
    with ThreadPoolExecutor(max_workers=len(metrics_urls)) as pool:
        return dict(zip(metrics_urls, pool.map(_scrape, metrics_urls), strict=True))


def counters_delta(before: Reading, after: Reading) -> tuple[FleetCounters, int]:
    """The fleet's counters over a window (summed over the instances that answered at both
    ends; a restarted instance, whose counters went back, counts from zero), and how many
    instances answered at both ends."""
    total, answered = FleetCounters(0.0, 0.0), 0
    for url, end in after.items():
        start = before.get(url)
        if end is None or start is None:
            continue
        delta = end - start if end.requests >= start.requests else end
        total, answered = total + delta, answered + 1
    return total, answered


def _scrape(url: str) -> FleetCounters | None:
    try:
        response = httpx.get(url, timeout=SCRAPE_TIMEOUT_S)
        response.raise_for_status()
    except httpx.HTTPError:
        return None
    return parse_counters(response.text)


@dataclass(frozen=True)
class Connections:
    threads_connected: int | None
    max_connections: int | None


def database_connections(url: str) -> Connections:
    """`Threads_connected` and `max_connections` of the server at `url` (None when it does
    not answer: the figure is missing, the measurement goes on)."""
    try:
        return asyncio.run(asyncio.wait_for(_connections(url), timeout=10.0))
    except Exception:  # an unreachable node must not end a measurement
        return Connections(None, None)


async def _connections(url: str) -> Connections:
    address = parse_mysql_url(url)
    connection = await asyncmy.connect(**address.connect_kwargs(database=False))
    try:
        async with connection.cursor() as cursor:
            await cursor.execute("SHOW GLOBAL STATUS LIKE 'Threads_connected'")
            row = await cursor.fetchone()
            await cursor.execute("SELECT @@max_connections")
            limit = await cursor.fetchone()
    finally:
        await connection.ensure_closed()
    return Connections(int(row[1]) if row else None, int(limit[0]) if limit else None)
