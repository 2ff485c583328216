"""`loadcap serve` told to stop by SIGTERM drains and exits 0 (it died by the signal, 143,
because uvicorn re-raises the signal after its graceful shutdown)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from target_service.process import ServiceProcess, free_port

pytestmark = pytest.mark.servers  # starts the service, Locust or a browser


@pytest.mark.timeout(60)
@pytest.mark.parametrize("workers", [1, 2])
def test_serve_exits_0_on_sigterm(tmp_path: Path, workers: int) -> None:
    port = free_port()
    loadcap = Path(sys.executable).parent / "loadcap"
    command = [
        str(loadcap), "serve", "--port", str(port), "--workers", str(workers),
        "--db", f"sqlite:///{tmp_path / 'serve.db'}", "--rate-limit", "off",
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, "serve did not start"
            time.sleep(0.05)
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        returncode = process.wait(20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        assert process.stdout is not None
        output = process.stdout.read().decode(errors="replace")
        process.stdout.close()
    print(
        f"serve --workers {workers}: SIGTERM -> exit {returncode} "
        f"in {time.monotonic() - started:.2f} s"
    )
    assert returncode == 0, output
    assert "Traceback" not in output, output


def _request(sock: socket.socket, path: str) -> bytes:
    """One GET on a kept-alive connection; the whole response (its body is JSON, sized)."""
    sock.sendall(f"GET {path} HTTP/1.1\r\nhost: x\r\n\r\n".encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"content-length: (\d+)", head, re.I).group(1))  # type: ignore[union-attr]
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


@pytest.mark.timeout(60)
def test_a_request_on_an_idle_keep_alive_connection_after_sigterm_is_answered() -> None:
    """The race a proxy loses at a rolling restart: nginx reuses an idle upstream connection at
    the moment the instance is told to stop. uvicorn alone closes idle connections at once (the
    request is lost: a POST becomes a 502); loadcap's protocol leaves them to the keep-alive
    timer and answers what still comes with `connection: close`."""
    with (
        ServiceProcess(profiles=10) as service,
        socket.create_connection(("127.0.0.1", service.port), timeout=5) as sock,
    ):
        assert _request(sock, "/api/profile/1").startswith(b"HTTP/1.1 200")
        assert service.pid is not None
        os.kill(service.pid, signal.SIGTERM)
        time.sleep(0.5)  # uvicorn has begun its shutdown: it no longer accepts connections
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", service.port), timeout=1).close()
        response = _request(sock, "/api/profile/2")
        assert response.startswith(b"HTTP/1.1 200"), response
        assert b"connection: close" in response.lower()
        assert sock.recv(1) == b""  # and then closed, by the server
