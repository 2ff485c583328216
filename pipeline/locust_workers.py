"""Where a run's Locust workers come from: forked on this machine, or started elsewhere.

`--processes N` forks N local workers under one master (Locust's own `--processes`). The
master listens on a free loopback port of its own, so two runs on one machine (two CI jobs,
two engineers) never share a master or collide on Locust's default port 5557.

`--expect-workers N` makes the run's Locust a master that waits for N workers started on
other machines with `locust -f "$(loadcap locustfile)" --worker --master-host H`, for at most
`max_wait_s`; only then does the run's clock start. The master alone writes the run
directory: workers send it their statistics, exact histograms, one-second windows and CPU.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

from loadtests.errors import LoadTestError
from reports.load import EXCEPTIONS_FILE, FAILURES_FILE, HISTORY_FILE, LOG_FILES, STATS_FILE
from target_service.process import free_port

LOCUST_MASTER_PORT = 5557  # Locust's default: what a worker connects to unless told otherwise
ALL_INTERFACES = ("*", "0.0.0.0", "::")  # noqa: S104 - the master's listen addresses
DEFAULT_MAX_WAIT_S = 60.0
MAX_WORKERS = 10_000
_GAVE_UP = "Gave up waiting for workers to connect"
_WAITING = re.compile(r"Waiting for workers to be ready, (\d+) of (\d+) connected")


@dataclass(frozen=True, kw_only=True)
class ExternalWorkers:
    """`loadcap run --expect-workers N`: Locust workers on other machines, and where the
    master listens for them."""

    count: int
    bind_host: str = ALL_INTERFACES[0]  # Locust's default: workers may be anywhere
    bind_port: int = LOCUST_MASTER_PORT
    max_wait_s: float = DEFAULT_MAX_WAIT_S

    def __post_init__(self) -> None:
        if not 1 <= self.count <= MAX_WORKERS:
            raise LoadTestError(
                f"--expect-workers must be between 1 and {MAX_WORKERS}, got {self.count}"
            )
        if not 1 <= self.bind_port <= 65535:
            raise LoadTestError(f"--master-bind-port must be in 1..65535, got {self.bind_port}")
        if not self.bind_host.strip() or any(c.isspace() for c in self.bind_host):
            raise LoadTestError(f"--master-bind-host must be a host name or address, got "
                                f"{self.bind_host!r}")  # fmt: skip
        if not 0 < self.max_wait_s < math.inf:
            raise LoadTestError(
                f"--expect-workers-max-wait must be a positive duration, got {self.max_wait_s}"
            )

    @property
    def wait_s(self) -> int:
        """The wait in whole seconds, as Locust takes it (rounded up)."""
        return math.ceil(self.max_wait_s)

    def worker_command(self) -> str:
        """What to run on each worker machine (H: an address of this one they can reach)."""
        host = "<this machine>" if self.bind_host in ALL_INTERFACES else self.bind_host
        port = "" if self.bind_port == LOCUST_MASTER_PORT else f" --master-port {self.bind_port}"
        return f'locust -f "$(loadcap locustfile)" --worker --master-host {host}{port}'


def master_arguments(processes: int, workers: ExternalWorkers | None) -> list[str]:
    """Locust's flags for the run's workers: none for a single process."""
    if workers is not None:
        return [
            "--master",
            "--expect-workers", str(workers.count),
            "--expect-workers-max-wait", str(workers.wait_s),
            "--master-bind-host", workers.bind_host,
            "--master-bind-port", str(workers.bind_port),
        ]  # fmt: skip
    if processes <= 1:
        return []
    port = str(free_port())
    # The forked workers connect to --master-host (127.0.0.1 by default) at --master-port.
    return [
        "--processes", str(processes),
        "--master-bind-host", "127.0.0.1", "--master-bind-port", port,
        "--master-port", port,
    ]  # fmt: skip


def workers_missing(out_dir: Path, workers: ExternalWorkers | None) -> str | None:
    """The error when the master gave up waiting for its workers (its log says so), else
    None. The empty statistics it wrote while it waited are removed: nothing was measured."""
    try:
        text = (out_dir / LOG_FILES[0]).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    if workers is None or _GAVE_UP not in text:
        return None
    for name in (STATS_FILE, HISTORY_FILE, FAILURES_FILE, EXCEPTIONS_FILE):
        (out_dir / name).unlink(missing_ok=True)
    waiting = _WAITING.findall(text)  # Locust logs the count from 5 s on
    if waiting:
        came = str(int(waiting[-1][0]) or "none")
    else:
        came = "none" if workers.count == 1 else "fewer"
    return (
        f"the master waited {workers.wait_s} s on {workers.bind_host}:"
        f"{workers.bind_port} for {workers.count} Locust worker(s) and {came} connected, so "
        f"no load was sent; start each with `{workers.worker_command()}` (and check that the "
        "port is open to them), or raise --expect-workers-max-wait"
    )
