"""`ServiceProcess`: the reference service in a subprocess on a free loopback port.

    with ServiceProcess(profiles=1_000) as service:      # seeded SQLite, rate limit off
        httpx.get(service.base_url + "/api/profiles")

With no settings it uses a fresh SQLite file in a temporary directory and no rate limit (load
tests must measure the service, not the limiter). Given settings are used as they are; the
database is seeded with `profiles` profiles only when it has none.

`cpus=0.25` starts the service inside a new `CpuCap` of a quarter of a core: the process is
in the cap before it executes anything, so every uvicorn worker it forks shares the one
quota; the cap is removed on stop. Where no cap can be made, `start()` raises `CpuCapError`.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Collection, Sequence
from pathlib import Path
from types import TracebackType

import httpx

from target_service.cpu_cap import CpuCap
from target_service.settings import Settings

STOP_TIMEOUT_S = 10.0
KILL_TIMEOUT_S = 5.0


class ServiceStartError(RuntimeError):
    """The service did not answer /health in time; the message carries its log's tail."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def stop_process(
    process: subprocess.Popen[bytes],
    *,
    signals: Sequence[tuple[signal.Signals, float]] = (
        (signal.SIGTERM, STOP_TIMEOUT_S),
        (signal.SIGKILL, KILL_TIMEOUT_S),
    ),
    group: bool | Collection[signal.Signals] = False,
) -> int | None:
    """Send each signal in turn until the process exits within that signal's grace seconds;
    its exit status (None only if it outlived them all). An ended process gets no signal.

    `group=True` sends every signal to the process group the process leads (started with
    `start_new_session=True`), so its children get them too; a set of signals sends only
    those to the group, e.g. `{SIGKILL}`: the graceful signal to a supervisor that stops its
    children itself, the kill to them all.
    """
    for sig, grace_s in signals:
        if process.poll() is not None:
            break
        try:
            if group is True or (group and sig in group):
                os.killpg(process.pid, sig)
            else:
                process.send_signal(sig)
        except ProcessLookupError:
            break
        try:
            process.wait(grace_s)
        except subprocess.TimeoutExpired:
            continue
        break
    return process.poll()


class ServiceProcess:
    """Starts on `__enter__` (or `start()`), stops with SIGTERM then SIGKILL on exit."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        profiles: int = 1_000,
        workers: int = 1,
        host: str = "127.0.0.1",
        port: int | None = None,
        startup_timeout_s: float = 60.0,
        command_prefix: Sequence[str] = (),
        cpus: float | None = None,
        cpu_period_us: int | None = None,
    ) -> None:
        # Holds the log and, without settings, the SQLite file; removed on stop.
        self.workdir = Path(tempfile.mkdtemp(prefix="loadcap-service-"))
        if settings is None:
            settings = Settings(db_url=f"sqlite:///{self.workdir}/loadcap.db", rate_limit=None)
        self.settings = settings
        self.profiles = profiles
        self.workers = workers
        self.host = host
        self.port = port or free_port(host)
        self.startup_timeout_s = startup_timeout_s
        # e.g. ("taskset", "-c", "0"): the caller keeps the service on CPUs of its own.
        self.command_prefix = tuple(command_prefix)
        self.cpus = cpus
        self.cpu_period_us = cpu_period_us  # None: CpuCap's default
        self.cap: CpuCap | None = None
        self.base_url = f"http://{host}:{self.port}"
        self.log_path = self.workdir / "service.log"
        self._process: subprocess.Popen[bytes] | None = None

    def __repr__(self) -> str:
        return f"ServiceProcess(base_url={self.base_url!r}, db_url={self.settings.db_url!r})"

    def start(self) -> ServiceProcess:
        command = [
            *self.command_prefix, sys.executable, "-m", "target_service.server",
            "--host", self.host, "--port", str(self.port),
            "--workers", str(self.workers), "--seed", str(self.profiles),
        ]  # fmt: skip
        if self.cpus is not None:
            self.cap = CpuCap.create(
                self.cpus, name=f"service-{self.port}", period_us=self.cpu_period_us
            )
            command = _joining(self.cap, command)
        env = {**os.environ, **self.settings.to_env()}
        try:
            with self.log_path.open("wb") as log:
                self._process = subprocess.Popen(
                    command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
                )
            self._wait_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + self.startup_timeout_s
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self._process is None or self._process.poll() is not None:
                    raise ServiceStartError(f"service exited during start-up:\n{self.log_tail()}")
                try:
                    if client.get(self.base_url + "/health").status_code in (200, 503):
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.05)
        raise ServiceStartError(f"no /health after {self.startup_timeout_s}s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    @property
    def returncode(self) -> int | None:
        """The exit status once the process has ended (by itself or by a signal), else None."""
        return None if self._process is None else self._process.poll()

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL after STOP_TIMEOUT_S; the exit status (None if never started).
        A graceful shutdown exits 0."""
        process, self._process = self._process, None
        returncode = None
        if process is not None:
            # SIGKILL to the whole session: with --workers N the workers die with the supervisor.
            returncode = stop_process(process, group={signal.SIGKILL})
        cap, self.cap = self.cap, None
        try:
            if cap is not None:
                cap.remove()
        finally:
            shutil.rmtree(self.workdir, ignore_errors=True)
        return returncode

    def __enter__(self) -> ServiceProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def _joining(cap: CpuCap, command: Sequence[str]) -> list[str]:
    """`command` run by a shell that first moves itself into the cap, then execs it: the
    command never runs a moment outside the cap, and no preexec hook runs in a forked child."""
    procs = str(cap.path / "cgroup.procs")
    return ["/bin/sh", "-c", 'echo $$ > "$0" && exec "$@"', procs, *command]
