"""The CPU quota the service runs under and how often it was throttled, on /metrics.

Read from the service's own cgroup at scrape time (`cgroup_quota.current_cap`), whoever set the
quota: `loadcap serve --cpus`, a run's `--service-cpus`, a Kubernetes CPU limit or
`docker --cpus`. An uncapped service exports none of these. With `--workers N` every worker is
in the one cgroup, so whichever worker answers reads the same counters, once: nothing is
summed over workers.

A throttled period is one in which the service used its whole quota and was stalled until
the period ended: a service throttled in most periods is CPU-saturated at its cap.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from target_service.cgroup_quota import current_cap

QUOTA_CORES = "loadcap_cpu_quota_cores"
PERIOD_SECONDS = "loadcap_cpu_period_seconds"
PERIODS = "loadcap_cpu_periods"  # counters: exposed with _total
THROTTLED_PERIODS = "loadcap_cpu_throttled_periods"
THROTTLED_SECONDS = "loadcap_cpu_throttled_seconds"


class CpuCapCollector(Collector):
    """The binding CPU quota of this process's cgroup and its CFS throttling counters."""

    def collect(self) -> Iterable[CounterMetricFamily | GaugeMetricFamily]:
        quota = current_cap()
        if quota is None:
            return
        try:
            throttling = quota.throttling()
        except OSError:
            return
        yield GaugeMetricFamily(
            QUOTA_CORES, "CPU quota of the service's cgroup, in cores.", value=quota.cores
        )
        yield GaugeMetricFamily(
            PERIOD_SECONDS, "CFS period the quota is enforced over.", value=quota.period_us / 1e6
        )
        yield CounterMetricFamily(
            PERIODS, "CFS periods in which the service had work to run.",
            value=throttling.nr_periods,
        )  # fmt: skip
        yield CounterMetricFamily(
            THROTTLED_PERIODS, "Periods in which the service used its whole quota and stalled.",
            value=throttling.nr_throttled,
        )  # fmt: skip
        yield CounterMetricFamily(
            THROTTLED_SECONDS, "Time the service's runnable tasks spent stalled by the quota.",
            value=throttling.throttled_s,
        )  # fmt: skip
