"""The load generator accounts for itself: each Locust process's CPU, about once a second.

A load test measures the generator as much as the service. Locust warns when a process passes
90 % CPU; this records the figures behind that warning, per process, in the run directory
(`generator.csv`: timestamp, process, cumulative CPU seconds), so a report can tell a
generator-bound run from a service-bound one. Workers send their samples to the master with
each stats report; only the master (or a local runner) writes the file.
"""

from __future__ import annotations

import csv
import os
import time
from pathlib import Path

import psutil

from rundir.generator_csv import COLUMNS
from rundir.generator_csv import MACHINE as MACHINE

SAMPLE_INTERVAL_S = 1.0

Sample = tuple[float, float]  # (unix time, cumulative CPU seconds of the process)


class CpuSampler:
    """This process's cumulative user + system CPU seconds, sampled on demand."""

    def __init__(self) -> None:
        self._pid = os.getpid()
        self._process = psutil.Process(self._pid)
        self._pending: list[Sample] = []

    def sample(self) -> None:
        if os.getpid() != self._pid:
            # `--processes N` forks the workers after the locustfile (and this) was imported.
            self._pid = os.getpid()
            self._process = psutil.Process(self._pid)
            self._pending = []
        times = self._process.cpu_times()
        self._pending.append((round(time.time(), 3), round(times.user + times.system, 3)))

    def take(self) -> list[Sample]:
        """The samples since the last call (they travel to the master or the file once)."""
        pending, self._pending = self._pending, []
        return pending


class MachineSampler(CpuSampler):
    """The machine's busy CPU seconds (all CPUs): what else ran beside generator and service."""

    def sample(self) -> None:
        times = psutil.cpu_times()
        busy = sum(times) - times.idle - getattr(times, "iowait", 0.0)
        self._pending.append((round(time.time(), 3), round(busy, 3)))


class GeneratorLog:
    """Appends samples to `generator.csv`; worker ids get short stable names (worker-1, ...)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._names: dict[str, str] = {}
        with path.open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerow(COLUMNS)

    def name_for(self, client_id: str) -> str:
        if client_id not in self._names:
            self._names[client_id] = f"worker-{len(self._names) + 1}"
        return self._names[client_id]

    def write(self, process: str, samples: list[Sample]) -> None:
        if not samples:
            return
        with self.path.open("a", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerows((f"{ts:.3f}", process, f"{cpu:.3f}") for ts, cpu in samples)


def decode_samples(raw: object) -> list[Sample]:
    """Samples as a worker sent them (msgpack turns tuples into lists); junk is dropped."""
    if not isinstance(raw, list):
        return []
    samples: list[Sample] = []
    for item in raw:
        if isinstance(item, list | tuple) and len(item) == 2:
            try:
                samples.append((float(item[0]), float(item[1])))
            except (TypeError, ValueError):
                continue
    return samples
