"""Live figures for the Capacity tab: the service's CPU per request and the generator's CPU.

While a swarm runs, the master scrapes the target's Prometheus metrics every couple of seconds
and keeps the last `WINDOW_S` of samples: service demand D = ΔCPU / Δrequests over that window,
and capacity per core 1 / D (the Utilization Law). The generator's CPU comes from the same
per-process samples `generator.csv` is written from. Any Prometheus client's default
`process_cpu_seconds_total` is enough; the request count is the service's own counter when it
exports loadcap's, else the requests Locust completed.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass

WINDOW_S = 10.0
SCRAPE_INTERVAL_S = 2.0
NOT_LOAD_ROUTES = ('route="/metrics"', 'route="/health"')
_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)")


@dataclass(frozen=True, kw_only=True)
class ServiceSample:
    cpu_s: float
    requests: float | None  # the service's own count, when it exports loadcap's counter
    cores_available: float | None


def parse_service_sample(text: str) -> ServiceSample | None:
    """The few samples the tab needs from a Prometheus text exposition; None without CPU."""
    cpu = cores = None
    requests: float | None = None
    for line in text.splitlines():
        if not line.startswith(("process_cpu_seconds_total", "loadcap_")):
            continue
        match = _SAMPLE.match(line)
        if match is None:
            continue
        name, labels, raw = match.group(1), match.group(2) or "", match.group(3)
        try:
            value = float(raw)
        except ValueError:
            continue
        if name == "process_cpu_seconds_total":
            cpu = value
        elif name == "loadcap_cpu_cores_available":
            cores = value
        elif name == "loadcap_http_requests_total" and not any(
            route in labels for route in NOT_LOAD_ROUTES
        ):
            requests = (requests or 0.0) + value
    if cpu is None:
        return None
    return ServiceSample(cpu_s=cpu, requests=requests, cores_available=cores)


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
    """The last `WINDOW_S` of (time, CPU seconds, requests) samples of the target."""

    def __init__(self) -> None:
        self._samples: deque[tuple[float, float, float]] = deque()
        self._cores: float | None = None

    def add(self, at: float, sample: ServiceSample, client_requests: float) -> None:
        requests = sample.requests if sample.requests is not None else client_requests
        if self._samples and (sample.cpu_s < self._samples[-1][1] or at <= self._samples[-1][0]):
            self._samples.clear()  # the service restarted (counters went down)
        self._samples.append((at, sample.cpu_s, requests))
        self._cores = sample.cores_available
        while self._samples and self._samples[0][0] < at - WINDOW_S:
            self._samples.popleft()

    def demand(self) -> Demand | None:
        if len(self._samples) < 2:
            return None
        (t0, cpu0, n0), (t1, cpu1, n1) = self._samples[0], self._samples[-1]
        if t1 <= t0:
            return None
        served = n1 - n0
        return Demand(
            cores_used=(cpu1 - cpu0) / (t1 - t0),
            cores_available=self._cores,
            cpu_s_per_request=(cpu1 - cpu0) / served if served > 0 and cpu1 > cpu0 else None,
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

    def busiest(self) -> float | None:
        """The busiest process's share of a core over the window."""
        shares = []
        for kept in self._samples.values():
            if len(kept) >= 2 and kept[-1][0] > kept[0][0]:
                shares.append((kept[-1][1] - kept[0][1]) / (kept[-1][0] - kept[0][0]))
        return max(shares) if shares else None
