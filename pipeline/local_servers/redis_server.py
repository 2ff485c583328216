"""A throwaway Redis: `redis-server --port <free> --save "" --appendonly no` on loopback,
nothing on disk. It can be stopped and started again on the same port (outage tests)."""

from __future__ import annotations

import signal
from pathlib import Path

import redis

from pipeline.local_servers.loopback import LoopbackServer, wait_for_port
from target_service.process import KILL_TIMEOUT_S, stop_process


class RedisServer(LoopbackServer):
    log_name = "redis.log"

    def __init__(self, binary: str, workdir: Path) -> None:
        super().__init__(workdir)
        self.binary = binary

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        if self.running:
            return
        self._launch(
            [
                self.binary,
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--dir", str(self.workdir),
                "--protected-mode", "no",
            ]
        )  # fmt: skip
        wait_for_port(self.port)

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGCONT)  # a paused server cannot handle SIGTERM
        stop_process(process)

    def kill(self) -> None:
        """SIGKILL, as a crash would: no shutdown, connections reset."""
        process, self._process = self._process, None
        if process is not None:
            stop_process(process, signals=((signal.SIGKILL, KILL_TIMEOUT_S),))

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): connections hang instead of being refused."""
        assert self._process is not None
        self._process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self._process is not None
        self._process.send_signal(signal.SIGCONT)

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_timeout=5)

    def flushall(self) -> None:
        with self.client() as client:
            client.flushall()
