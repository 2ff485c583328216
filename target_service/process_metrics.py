"""How hard the service works: CPU, memory and file descriptors of the whole instance.

Every Prometheus client library exports `process_cpu_seconds_total` by default; capacity
analysis rests on it (service demand D = CPU seconds per request). One uvicorn worker is one
process and prometheus_client's own `ProcessCollector` describes it. With `--workers N` the
instance is the supervisor and its worker processes, and prometheus_client's multiprocess mode
has no process metrics, so `InstanceCollector` sums them over that process tree at scrape time:
the workers alive now, plus what finished children (a restarted worker) already spent.

`loadcap_cpu_cores_available` says how many cores those processes can keep busy at once — one
per worker process, no more than the CPUs the instance may run on nor its CPU quota (a
cgroup's, `cgroup_quota.current_cap`) — so that "cores used" becomes a utilization.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

import psutil
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from target_service.cgroup_quota import current_cap

CORES_AVAILABLE = "loadcap_cpu_cores_available"
CORES_HELP = (
    "Cores the service's processes can use at once: min(worker processes, CPUs allowed, CPU quota)."
)


def allowed_cpus() -> int:
    """CPUs this process may run on (its affinity mask), else the machine's count."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not every platform has affinity masks
        return os.cpu_count() or 1


def cores_available(processes: int) -> float:
    """One core per process at most, within the CPUs allowed and the cgroup's CPU quota."""
    cores = float(max(1, min(processes, allowed_cpus())))
    quota = current_cap()
    return min(cores, quota.cores) if quota is not None else cores


class CoresCollector(Collector):
    """`loadcap_cpu_cores_available` for a single-process service."""

    def collect(self) -> Iterable[GaugeMetricFamily]:
        yield GaugeMetricFamily(CORES_AVAILABLE, CORES_HELP, value=cores_available(1))


class InstanceCollector(Collector):
    """process_* metrics summed over the uvicorn supervisor (`root_pid`) and its children."""

    def __init__(self, root_pid: int) -> None:
        self.root_pid = root_pid

    def collect(self) -> Iterable[CounterMetricFamily | GaugeMetricFamily]:
        try:
            root = psutil.Process(self.root_pid)
            with root.oneshot():
                times = root.cpu_times()
                rss = root.memory_info().rss
                fds = root.num_fds()
                started = root.create_time()
            # Reaped children (a worker that exited) still count through the root's totals.
            cpu = times.user + times.system + times.children_user + times.children_system
            workers = 0
            for child in root.children(recursive=True):
                try:
                    with child.oneshot():
                        child_times = child.cpu_times()
                        cpu += child_times.user + child_times.system
                        rss += child.memory_info().rss
                        fds += child.num_fds()
                    if not _is_helper(child):
                        workers += 1
                except psutil.Error:
                    continue  # exited between listing and reading
        except psutil.Error:
            return
        yield CounterMetricFamily(
            "process_cpu_seconds_total",
            "Total user and system CPU time spent in seconds, all processes of the instance.",
            value=cpu,
        )
        yield GaugeMetricFamily(
            "process_resident_memory_bytes",
            "Resident memory size in bytes, all processes of the instance.",
            value=float(rss),
        )
        yield GaugeMetricFamily(
            "process_open_fds", "Open file descriptors, all processes of the instance.", value=fds
        )
        yield GaugeMetricFamily(
            "process_start_time_seconds",
            "Start time of the instance since unix epoch in seconds.",
            value=started,
        )
        yield GaugeMetricFamily(CORES_AVAILABLE, CORES_HELP, value=cores_available(workers))


def _is_helper(process: psutil.Process) -> bool:
    """multiprocessing's resource tracker is a child of the supervisor, not a worker."""
    return any("resource_tracker" in part for part in process.cmdline())
