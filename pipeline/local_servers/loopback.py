"""What every throwaway server shares: a free loopback port, a work directory holding its log,
one process started and stopped the one way loadcap stops processes, and the binary found."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from loadtests.errors import LoadTestError
from target_service.process import free_port

__all__ = ["LoopbackServer", "MissingServerBinary", "free_port", "require_binary", "wait_for_port"]


class MissingServerBinary(LoadTestError):
    """A server loadcap starts itself (mariadbd, redis-server, nginx) is not installed."""


def require_binary(name: str, *candidates: str) -> str:
    """The path of `name` (or the first candidate found), else MissingServerBinary."""
    for candidate in (name, *candidates):
        path = shutil.which(candidate) or (candidate if os.path.isfile(candidate) else None)
        if path:
            return path
    raise MissingServerBinary(f"{name} is not installed (scripts/bootstrap --system installs it)")


def wait_for_port(port: int, *, host: str = "127.0.0.1", timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {host}:{port} after {timeout}s")


class LoopbackServer:
    log_name = "server.log"

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self.running and self._process is not None else None

    def _launch(self, command: Sequence[str]) -> None:
        """Start `command`, its output appended to the work directory's log."""
        with (self.workdir / self.log_name).open("ab") as log:
            self._process = subprocess.Popen(list(command), stdout=log, stderr=subprocess.STDOUT)
