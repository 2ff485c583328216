"""Keeping the load generator and the service off each other's cores.

On one machine, a generator and a service that share cores measure each other: the service's
throughput then depends on how much CPU Locust left it. Where the machine has two or more
CPUs, the service loadcap starts gets its own and Locust the rest; `--processes auto` runs one
Locust process per generator CPU (a process is one core at most: gevent, one thread).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass

from loadtests.errors import LoadTestError

AUTO = "auto"
MAX_PROCESSES = 256


@dataclass(frozen=True)
class CpuSplit:
    service: frozenset[int] | None  # None: no pinning (a single CPU, or not our service)
    generator: frozenset[int] | None

    def as_dict(self) -> dict[str, list[int] | None]:
        return {
            "service_cpus": sorted(self.service) if self.service is not None else None,
            "generator_cpus": sorted(self.generator) if self.generator is not None else None,
        }


def available_cpus() -> frozenset[int]:
    try:
        return frozenset(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return frozenset(range(os.cpu_count() or 1))


def split_cpus(service_workers: int = 1, cpus: frozenset[int] | None = None) -> CpuSplit:
    """The service's workers on the lowest CPUs (at most half of them), Locust on the rest."""
    cpus = available_cpus() if cpus is None else cpus
    if len(cpus) < 2 or shutil.which("taskset") is None:
        return CpuSplit(service=None, generator=None)
    ordered = sorted(cpus)
    service_count = max(1, min(service_workers, len(ordered) // 2))
    return CpuSplit(
        service=frozenset(ordered[:service_count]), generator=frozenset(ordered[service_count:])
    )


def resolve_processes(value: str | int, generator_cpus: frozenset[int] | None) -> int:
    """`--processes N` or `auto` (one Locust process per CPU the generator may use)."""
    if isinstance(value, str) and value.strip().lower() == AUTO:
        return len(generator_cpus) if generator_cpus else len(available_cpus())
    try:
        count = int(value)
    except (TypeError, ValueError):
        raise LoadTestError(
            f"--processes must be a whole number or 'auto', got {value!r}"
        ) from None
    if not 1 <= count <= MAX_PROCESSES:
        raise LoadTestError(f"--processes must be between 1 and {MAX_PROCESSES}, got {count}")
    return count


def pinned(command: list[str], cpus: frozenset[int] | None) -> list[str]:
    """`command` started on `cpus` only (taskset, so children forked later inherit it)."""
    if not cpus:
        return command
    taskset = shutil.which("taskset")
    if taskset is None:  # split_cpus pins nothing then
        return command
    return [taskset, "-c", ",".join(str(c) for c in sorted(cpus)), *command]
