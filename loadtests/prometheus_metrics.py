"""Locust's side in Prometheus: `/metrics` on the web UI's port (the master, or a local runner).

Requests and failures per endpoint are counters and response times a histogram, so rates
and quantiles add up across workers and instances in PromQL (a gauge of "current p95", as
the popular exporter serves, cannot be aggregated). Each Locust process's CPU is there too,
the figure that says whether a run measured the generator or the service.

Nothing here runs per request: the request buffer (loadtests/request_buffer.py) hands each
endpoint's response times over in batches (`record_many`), about a second's worth at a time.
Workers send the counts they gathered since their last stats report to the master, which adds
them up, as the HDR histograms travel.
Counters only grow for the life of the process (a new swarm does not reset them):
Prometheus' `rate()` and `increase()` expect exactly that.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector, CollectorRegistry

# Seconds; a bound at the SLO (100 ms) and several around it, as the service's histogram.
BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.125, 0.15, 0.2, 0.25, 0.5, 1.0, 2.5, 5.0)
_BOUNDS_MS = tuple(bound * 1000.0 for bound in BUCKETS_S)
_BOUNDS_MS_ARRAY = np.array(_BOUNDS_MS)
_FAILURES = len(BUCKETS_S) + 1  # after the buckets and +Inf
_SUM_MS = _FAILURES + 1


class RequestCounts:
    """Per endpoint key (`"GET /api/profile/{id}"`): response-time bucket counts (not yet
    cumulative), failures and the sum of response times, in one list per key."""

    def __init__(self) -> None:
        self._counts: dict[str, list[float]] = {}

    def record(self, key: str, response_time_ms: float, failed: bool) -> None:
        counts = self._counts.get(key)
        if counts is None:
            counts = self._counts[key] = [0.0] * (_SUM_MS + 1)
        counts[bisect_left(_BOUNDS_MS, response_time_ms)] += 1
        counts[_SUM_MS] += response_time_ms
        if failed:
            counts[_FAILURES] += 1

    def record_many(
        self, key: str, response_times_ms: npt.NDArray[np.float64], failures: int
    ) -> None:
        """`record` for every value (`failures` of them failed), in array operations."""
        if not len(response_times_ms) and not failures:
            return
        counts = self._counts.get(key)
        if counts is None:
            counts = self._counts[key] = [0.0] * (_SUM_MS + 1)
        buckets = np.searchsorted(_BOUNDS_MS_ARRAY, response_times_ms, side="left")
        for index, count in enumerate(np.bincount(buckets, minlength=_FAILURES).tolist()):
            counts[index] += count
        counts[_SUM_MS] += float(response_times_ms.sum())
        counts[_FAILURES] += failures

    def take(self) -> dict[str, list[float]]:
        """The counts since the last call, for a worker's report to the master."""
        taken, self._counts = self._counts, {}
        return taken

    def merge(self, increments: object) -> None:
        """A worker's `take()`, as it arrived (junk is ignored)."""
        if not isinstance(increments, Mapping):
            return
        for key, values in increments.items():
            if not isinstance(key, str) or not isinstance(values, list | tuple):
                continue
            if len(values) != _SUM_MS + 1:
                continue
            counts = self._counts.setdefault(key, [0.0] * (_SUM_MS + 1))
            for index, value in enumerate(values):
                if isinstance(value, int | float):
                    counts[index] += value

    def items(self) -> list[tuple[str, list[float]]]:
        return sorted(self._counts.items())


@dataclass(frozen=True, kw_only=True)
class GeneratorState:
    """What the collector reads at scrape time besides the request counts."""

    users: int
    workers: int | None  # None on a local runner
    cpu_seconds: Mapping[str, float]  # cumulative CPU per Locust process


def _endpoint(key: str) -> tuple[str, str]:
    method, _, name = key.partition(" ")
    return method, name


class LocustCollector(Collector):
    def __init__(self, counts: RequestCounts, state: Callable[[], GeneratorState]) -> None:
        self.counts = counts
        self.state = state

    def collect(self) -> Iterable[Metric]:
        requests = CounterMetricFamily(
            "locust_requests", "Requests completed, by method and name.", labels=["method", "name"]
        )
        failures = CounterMetricFamily(
            "locust_failures", "Requests failed, by method and name.", labels=["method", "name"]
        )
        times = HistogramMetricFamily(
            "locust_response_time_seconds",
            "Response times as Locust measured them, by method and name.",
            labels=["method", "name"],
        )
        for key, counts in self.counts.items():
            labels = list(_endpoint(key))
            cumulative, buckets = 0.0, []
            for bound, count in zip((*BUCKETS_S, float("inf")), counts[:_FAILURES], strict=True):
                cumulative += count
                buckets.append(("+Inf" if bound == float("inf") else repr(bound), cumulative))
            requests.add_metric(labels, cumulative)
            failures.add_metric(labels, counts[_FAILURES])
            times.add_metric(labels, buckets, counts[_SUM_MS] / 1000.0)
        yield from (requests, failures, times)
        state = self.state()
        yield GaugeMetricFamily("locust_users", "Users running now.", value=state.users)
        if state.workers is not None:
            yield GaugeMetricFamily(
                "locust_workers", "Workers connected to this master.", value=state.workers
            )
        cpu = CounterMetricFamily(
            "locust_process_cpu_seconds",
            "User + system CPU seconds of each Locust process (master, local or a worker).",
            labels=["process"],
        )
        for process, seconds in sorted(state.cpu_seconds.items()):
            cpu.add_metric([process], seconds)
        yield cpu


def exposition(counts: RequestCounts, state: Callable[[], GeneratorState]) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(LocustCollector(counts, state))
    return generate_latest(registry)


CONTENT_TYPE = CONTENT_TYPE_LATEST
