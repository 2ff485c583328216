"""What the fleet's own counters say: requests served (from each instance's /metrics) and
each database node's connections (from the server itself).

A scale-out point's throughput is the instances' own request count over its window, summed
over the instances: exact for any number of Locust processes (whose statistics reach the
master in batches), and the same source for a local fleet and a real one (`--metrics-url`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import asyncmy
import httpx

from target_service.mysql_pool import parse_mysql_url

REQUESTS_METRIC = "loadcap_http_requests_total{"
CACHE_ERRORS_METRIC = "loadcap_cache_errors_total"
CPU_METRIC = "process_cpu_seconds_total"
# Probes and scrapes are not the workload.
NOT_WORKLOAD = ('route="/health"', 'route="/metrics"')
SCRAPE_TIMEOUT_S = 10.0


class FleetCountersError(RuntimeError):
    """An instance's /metrics could not be read; the message names it."""


@dataclass(frozen=True)
class FleetCounters:
    requests: float  # workload requests served so far
    cache_errors: float
    cpu_s: float = 0.0  # the instance's own process_cpu_seconds_total

    def __sub__(self, earlier: FleetCounters) -> FleetCounters:
        return FleetCounters(
            self.requests - earlier.requests,
            self.cache_errors - earlier.cache_errors,
            self.cpu_s - earlier.cpu_s,
        )

    def __add__(self, other: FleetCounters) -> FleetCounters:
        return FleetCounters(
            self.requests + other.requests,
            self.cache_errors + other.cache_errors,
            self.cpu_s + other.cpu_s,
        )


def parse_counters(text: str) -> FleetCounters:
    """Sum of the workload's request counters and of the cache error counters.

    >>> parse_counters('loadcap_http_requests_total{method="GET",route="/api/profiles",'
    ...                'status="200"} 7.0\\nloadcap_http_requests_total{method="GET",'
    ...                'route="/health",status="200"} 3.0\\nloadcap_cache_errors_total{} 2.0')
    FleetCounters(requests=7.0, cache_errors=2.0, cpu_s=0.0)
    """
    requests = cache_errors = cpu_s = 0.0
    for line in text.splitlines():
        if line.startswith(REQUESTS_METRIC):
            if not any(mark in line for mark in NOT_WORKLOAD):
                requests += float(line.rsplit(" ", 1)[1])
        elif line.startswith(CACHE_ERRORS_METRIC) and not line.startswith("#"):
            cache_errors += float(line.rsplit(" ", 1)[1])
        elif line.startswith(CPU_METRIC):
            cpu_s += float(line.rsplit(" ", 1)[1])
    return FleetCounters(requests, cache_errors, cpu_s)


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
    total, answered = FleetCounters(0.0, 0.0, 0.0), 0
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
