"""Live figures for the Capacity tab: the service's CPU per request and the generator's CPU.

While a swarm runs, the master scrapes the target's Prometheus metrics every couple of seconds
and keeps the last `WINDOW_S` of samples: service demand D = ΔCPU / Δrequests over that window,
and capacity per core 1 / D (the Utilization Law). The generator's CPU comes from the same
per-process samples `generator.csv` is written from. Any Prometheus client's default
`process_cpu_seconds_total` is enough; the request count is the service's own counter when it
exports loadcap's, else the requests Locust completed. `--metrics-url` may also be a
Prometheus server's `/federate?match[]=...` URL: then every instance it scrapes counts, and
the tab describes the fleet (compose does this).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

from rundir.exposition import parse_samples

WINDOW_S = 10.0
SCRAPE_INTERVAL_S = 2.0
NOT_LOAD_ROUTES = frozenset({"/metrics", "/health"})
CPU = "process_cpu_seconds_total"
CORES = "loadcap_cpu_cores_available"
REQUESTS = "loadcap_http_requests_total"


@dataclass(frozen=True, kw_only=True)
class ServiceSample:
    """One instance's counters at one scrape."""

    cpu_s: float
    requests: float | None  # the service's own count, when it exports loadcap's counter
    cores_available: float | None
    at: float | None = None  # when Prometheus scraped it (federated samples carry the time)


def parse_service_samples(text: str) -> dict[str, ServiceSample]:
    """The few samples the tab needs, per instance, from a Prometheus text exposition.

    A service's own `/metrics` is one instance (key ""); Prometheus's `/federate` gives one
    per `instance` label, each with its scrape time. Instances without CPU are left out.
    """
    cpu: dict[str, float] = {}
    cores: dict[str, float] = {}
    requests: dict[str, float] = {}
    scraped: dict[str, float] = {}
    for sample in parse_samples(text, prefixes=(CPU, CORES, REQUESTS)):
        instance = sample.labels.get("instance", "")
        if sample.name == CPU:
            cpu[instance] = sample.value
            if sample.timestamp is not None:
                scraped[instance] = sample.timestamp
        elif sample.name == CORES:
            cores[instance] = sample.value
        elif sample.name == REQUESTS:
            load = sample.labels.get("route") not in NOT_LOAD_ROUTES
            requests[instance] = requests.get(instance, 0.0) + (sample.value if load else 0.0)
    return {
        instance: ServiceSample(
            cpu_s=cpu_s,
            requests=requests.get(instance),
            cores_available=cores.get(instance),
            at=scraped.get(instance),
        )
        for instance, cpu_s in cpu.items()
    }


@dataclass(frozen=True, kw_only=True)
class Demand:
    cores_used: float
    cores_available: float | None
    cpu_s_per_request: float | None

    @property
    def per_core_rps(self) -> float | None:
        if not self.cpu_s_per_request:
            return None
        return round(1.0 / self.cpu_s_per_request, 1)


class ServiceCpuWatch:
    """The last `WINDOW_S` of (time, CPU seconds, requests) samples of each instance: the
    fleet's cores used are the sum of each instance's, its D the summed CPU over the summed
    requests (each instance's differences are taken between its own scrapes)."""

    def __init__(self) -> None:
        self._samples: dict[str, deque[tuple[float, float, float]]] = {}
        self._cores: dict[str, float | None] = {}

    def add(self, at: float, samples: Mapping[str, ServiceSample], client_requests: float) -> None:
        for instance, sample in samples.items():
            # Only a lone instance without its own counter may use Locust's count.
            own = sample.requests
            requests = own if own is not None else client_requests if len(samples) == 1 else 0.0
            kept = self._samples.setdefault(instance, deque())
            when = sample.at if sample.at is not None else at
            if kept and when == kept[-1][0]:
                continue  # Prometheus has not scraped it again yet
            if kept and (sample.cpu_s < kept[-1][1] or when < kept[-1][0]):
                kept.clear()  # the instance restarted (counters went down)
            kept.append((when, sample.cpu_s, requests))
            self._cores[instance] = sample.cores_available
            while kept and kept[0][0] < when - WINDOW_S:
                kept.popleft()
        for gone in [i for i, kept in self._samples.items() if kept[-1][0] < at - 2 * WINDOW_S]:
            del self._samples[gone], self._cores[gone]

    def demand(self) -> Demand | None:
        cores_used = cpu = served = 0.0
        cores: list[float | None] = []
        for instance, kept in self._samples.items():
            (t0, cpu0, n0), (t1, cpu1, n1) = kept[0], kept[-1]
            if t1 <= t0:
                continue
            cores_used += (cpu1 - cpu0) / (t1 - t0)
            cpu += cpu1 - cpu0
            served += n1 - n0
            cores.append(self._cores.get(instance))
        if not cores:
            return None
        return Demand(
            cores_used=cores_used,
            cores_available=None if None in cores else sum(c for c in cores if c is not None),
            cpu_s_per_request=cpu / served if served > 0 and cpu > 0 else None,
        )


class GeneratorCpuWatch:
    """Each Locust process's (time, cumulative CPU seconds) over the last `WINDOW_S`."""

    def __init__(self) -> None:
        self._samples: dict[str, deque[tuple[float, float]]] = {}

    def add(self, process: str, samples: list[tuple[float, float]]) -> None:
        kept = self._samples.setdefault(process, deque())
        for sample in samples:
            kept.append(sample)
        while kept and kept[0][0] < kept[-1][0] - WINDOW_S:
            kept.popleft()

    def latest(self) -> dict[str, float]:
        """Each process's cumulative CPU seconds at its last sample."""
        return {process: kept[-1][1] for process, kept in self._samples.items() if kept}

    def busiest(self) -> float | None:
        """The busiest process's share of a core over the window."""
        shares = []
        for kept in self._samples.values():
            if len(kept) >= 2 and kept[-1][0] > kept[0][0]:
                shares.append((kept[-1][1] - kept[0][1]) / (kept[-1][0] - kept[0][0]))
        return max(shares) if shares else None
