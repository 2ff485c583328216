"""The small things a new user meets in the first hour: --version, honest --help, a busy port,
an empty database, `plan` that starts fast, a report header that tells the peak load."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import msgspec
import pytest

from reports.formatting import run_line
from rundir.run_json import RunRecord
from tests.fixtures.ports import free_port, wait_for_port

pytestmark = pytest.mark.servers  # starts the service, Locust or a browser

LOADCAP = Path(sys.executable).with_name("loadcap")
HELP_ENV = {**os.environ, "COLUMNS": "200", "TERM": "dumb"}


def loadcap(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LOADCAP), *args], capture_output=True, text=True, timeout=timeout, check=False,
        env=HELP_ENV,
    )  # fmt: skip


def test_version_prints_loadcap_and_locust_versions() -> None:
    result = loadcap("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("loadcap ") and "locust 2." in result.stdout


def test_help_has_no_type_placeholders_on_flags_and_shows_service_defaults() -> None:
    run_help = loadcap("run", "--help").stdout
    web_line = next(line for line in run_help.splitlines() if "--web " in line)
    assert "<bool>" not in web_line and "<str>" not in run_help
    assert "[default: (10)]" in run_help  # --users, whose default is not a plain value
    serve_help = loadcap("serve", "--help").stdout
    for default in ("100/minute", "sqlite:///loadcap.db", "[default: (10)]"):
        assert default in serve_help, default


def test_a_busy_port_is_one_clear_line_and_exit_2(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [str(LOADCAP), "serve", "--port", str(port), "--db", f"sqlite:///{tmp_path}/a.db"],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_serve_seeds_an_empty_database_and_says_so(tmp_path: Path) -> None:
    port = free_port()
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(LOADCAP), "serve", "--port", str(port), "--seed-profiles", "300"],
            cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        wait_for_port(port, timeout=60)
        assert httpx.get(f"http://127.0.0.1:{port}/api/profile/300").status_code == 200
        assert httpx.get(f"http://127.0.0.1:{port}/api/profile/301").status_code == 404
    finally:
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=20)
    assert "the database was empty: seeded 300 profiles" in log_path.read_text()
    assert (tmp_path / "loadcap.db").is_file()


def test_plan_without_a_fit_or_chart_imports_neither_scipy_nor_matplotlib() -> None:
    code = (
        "import sys, cli\n"
        "sys.argv = ['loadcap', 'plan', '--per-instance-rps', '10', '--json']\n"
        "try:\n    cli.main()\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('scipy', 'matplotlib') if m in sys.modules), file=sys.stderr)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.stderr.strip().splitlines()[-1] == "[]", result.stderr


def test_report_header_says_the_peak_users_and_a_readable_start_time() -> None:
    run = {
        "host": "http://127.0.0.1:8000",
        "shape": "step",
        "users": 10,
        "stages": [{"users": 10 * k} for k in range(1, 6)],
        "duration_s": 50,
        "started_at": "2026-12-01T08:38:47.840647+00:00",
    }
    line = run_line(msgspec.convert(run, RunRecord))
    assert "peak 50 users" in line and "10 users" not in line
    assert "started 2026-12-01 08:38:47 UTC" in line
