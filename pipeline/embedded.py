"""The reference service a run, the demo or a sweep starts itself, on CPUs of its own.

With no settings it is the embedded default: a seeded SQLite file in a temporary directory,
the in-process cache, rate limiting off (a load test is not an abusive client). Given settings
(the demo's `--db`/`--redis`) are used as they are. It is stopped when the block ends.

This is the one place a start-up failure becomes the user's error line.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from loadtests.errors import LoadTestError
from pipeline.cpu_split import pinned
from target_service.cpu_cap import CpuCapError
from target_service.process import ServiceProcess, ServiceStartError
from target_service.settings import Settings

DEFAULT_PROFILES = 1000


@dataclass(frozen=True)
class EmbeddedService:
    base_url: str
    profiles: int


@contextmanager
def reference_service(
    settings: Settings | None = None,
    *,
    profiles: int = DEFAULT_PROFILES,
    workers: int = 1,
    cache: bool = True,
    cpus: frozenset[int] | None = None,
    cpu_cap: float | None = None,
) -> Iterator[EmbeddedService]:
    """The service for the duration of the block. `cache=False` turns the embedded default's
    cache off (a worker sweep without Redis: several workers cannot share an in-process
    cache, so no count may use one); `cpus` pins it (taskset) to those CPUs; `cpu_cap` runs
    it, all workers together, under a CPU quota of that many cores (`--service-cpus`)."""
    service = ServiceProcess(
        settings,
        profiles=profiles,
        workers=workers,
        command_prefix=pinned([], cpus),
        cpus=cpu_cap,
    )
    if not cache:
        service.settings = service.settings.with_changes(profile_ttl_s=0.0, list_ttl_s=0.0)
    try:
        service.start()
    except CpuCapError as exc:
        # Never measured uncapped instead: the run would describe another machine.
        raise LoadTestError(f"--service-cpus {cpu_cap:g}: {exc}") from None
    except ServiceStartError as exc:
        # The message carries the service log's tail; its last line says why.
        lines = [line for line in str(exc).splitlines() if line.strip()]
        raise LoadTestError(f"the reference service did not start: {lines[-1]}") from None
    try:
        yield EmbeddedService(base_url=service.base_url, profiles=profiles)
    finally:
        service.stop()
