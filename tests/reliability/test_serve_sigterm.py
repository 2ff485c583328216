"""`loadcap serve` told to stop by SIGTERM drains and exits 0 (it died by the signal, 143,
because uvicorn re-raises the signal after its graceful shutdown)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from target_service.process import free_port

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
