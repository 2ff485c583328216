"""The embedded reference service for runs without `--host`: seeded SQLite, in-process cache,
rate limiting off (a load test is not an abusive client), stopped after the run."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from loadtests.errors import LoadTestError

DEFAULT_PROFILES = 1000


@dataclass(frozen=True)
class EmbeddedService:
    base_url: str
    profiles: int


@contextmanager
def embedded_service(
    *, profiles: int = DEFAULT_PROFILES, command_prefix: Sequence[str] = ()
) -> Iterator[EmbeddedService]:
    from target_service.process import ServiceProcess, ServiceStartError

    try:
        service = ServiceProcess(profiles=profiles, command_prefix=command_prefix).start()
    except ServiceStartError as exc:
        # The message carries the service log's tail; its last line says why.
        lines = [line for line in str(exc).splitlines() if line.strip()]
        raise LoadTestError(f"the embedded service did not start: {lines[-1]}") from None
    try:
        yield EmbeddedService(base_url=service.base_url, profiles=profiles)
    finally:
        service.stop()
