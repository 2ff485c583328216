"""What loadcap does per request on the load generator: three appends to plain lists.

Every microsecond spent in Locust's request event is load the generator cannot send, so the
request listener (`plugin.request_listener`) only notes each request's response time and the clock
reading, under the endpoint's entry found by two dict lookups (the `"GET /api/profiles"` key
is built once per endpoint, not per request). About once a second, and before anything reads
the records, `fold` hands each endpoint's batch to the exact histograms (hdr.py), the
per-second windows (windows.py) and the Prometheus counts (prometheus_metrics.py) as arrays:
what they hold afterwards is exactly what one `record` call per request would have left.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from loadtests.hdr import LatencyRecorder
from loadtests.prometheus_metrics import RequestCounts
from loadtests.windows import WindowRecorder

FOLD_INTERVAL_S = 1.0


@dataclass(slots=True)
class _Endpoint:
    key: str
    response_times_ms: list[float] = field(default_factory=list)
    clock_readings: list[float] = field(default_factory=list)
    failed_at: list[int] = field(default_factory=list)  # positions in the two lists above


@dataclass(frozen=True)
class Destinations:
    """Where a fold puts the requests (the plugin's run state; replaceable in tests)."""

    latencies: LatencyRecorder
    counts: RequestCounts
    windows: WindowRecorder


class RequestBuffer:
    """Requests noted since the last fold, by request type and name."""

    def __init__(
        self, destinations: Callable[[], Destinations], clock: Callable[[], float] = time.time
    ) -> None:
        self._destinations = destinations
        self.clock = clock
        self._by_type: dict[str, dict[str, _Endpoint]] = {}

    def add(self, request_type: str, name: str, response_time_ms: float, failed: bool) -> None:
        """The hot path: kept to two lookups, a clock read and two appends."""
        try:
            endpoint = self._by_type[request_type][name]
        except KeyError:
            endpoint = self._endpoint(request_type, name)
        times = endpoint.response_times_ms
        if failed:
            endpoint.failed_at.append(len(times))
        times.append(response_time_ms)
        endpoint.clock_readings.append(self.clock())

    def _endpoint(self, request_type: str, name: str) -> _Endpoint:
        names = self._by_type.setdefault(request_type, {})
        endpoint = names[name] = _Endpoint(f"{request_type} {name}")
        return endpoint

    def pending(self) -> int:
        return sum(
            len(e.response_times_ms) for names in self._by_type.values() for e in names.values()
        )

    def fold(self) -> None:
        """Move every noted request into the records (each endpoint's lists start empty)."""
        destinations = self._destinations()
        for names in self._by_type.values():
            for endpoint in names.values():
                if not endpoint.response_times_ms:
                    continue
                times = np.array(endpoint.response_times_ms, dtype=np.float64)
                readings = np.array(endpoint.clock_readings, dtype=np.float64)
                failed = np.zeros(len(times), dtype=np.bool_)
                failed[endpoint.failed_at] = True
                failures = len(endpoint.failed_at)
                endpoint.response_times_ms.clear()
                endpoint.clock_readings.clear()
                endpoint.failed_at.clear()
                destinations.latencies.record_many(endpoint.key, times)
                destinations.counts.record_many(endpoint.key, times, failures)
                destinations.windows.record_many(endpoint.key, times, readings, failed)
