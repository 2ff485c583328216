"""`loadcap run --expect-workers N`: a master that waits for workers started elsewhere (here a
second process on loopback, as a worker machine would run it), and a clear end when they do
not come. Local `--processes` masters listen on a port of their own."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.locust_workers import ExternalWorkers, master_arguments
from target_service.process import free_port, stop_process
from tests.loadtests.run_dir import load_json, locust_rows

pytestmark = pytest.mark.servers  # starts the service, Locust or a browser

LOADCAP = [sys.executable, "-c", "import cli; cli.main()"]
WORKER_START_DELAY_S = 2.0  # the master is up and waiting before the worker comes


def _loadcap(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*LOADCAP, *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def _locustfile() -> str:
    return _loadcap("locustfile", timeout=30).stdout.strip()


def test_the_run_waits_for_an_external_worker_and_only_the_master_writes(tmp_path: Path) -> None:
    port = free_port()
    out, worker_dir = tmp_path / "run", tmp_path / "worker"
    worker_dir.mkdir()
    master = subprocess.Popen(
        [
            *LOADCAP, "run", "--users", "4", "--duration", "4s", "--out", str(out),
            "--expect-workers", "1", "--expect-workers-max-wait", "60s",
            "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port),
        ],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    time.sleep(WORKER_START_DELAY_S)
    worker = subprocess.Popen(
        [sys.executable, "-m", "locust", "-f", _locustfile(), "--worker",
         "--master-host", "127.0.0.1", "--master-port", str(port)],
        cwd=worker_dir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        stdout, stderr = master.communicate(timeout=120)
        worker.wait(timeout=30)  # the master tells its workers to quit at the end
    finally:
        for process in (master, worker):
            if process.poll() is None:
                stop_process(process)  # type: ignore[arg-type]

    assert master.returncode == 0, stderr
    assert f"--master-port {port}" in stdout  # the start line says how to attach a worker
    total = int(locust_rows(out)["Aggregated"]["Request Count"])
    assert total > 0
    windows = load_json(out / "windows.json")["windows"]
    assert sum(w["scopes"]["Aggregated"]["requests"] for w in windows) == total
    assert load_json(out / "summary.json")["totals"]["requests"] == total
    assert load_json(out / "run.json")["processes"] == 1
    assert "worker-1" in (out / "generator.csv").read_text()  # its CPU reached the master
    assert worker.returncode == 0
    assert list(worker_dir.iterdir()) == []  # the worker wrote nothing of the run


def test_workers_that_do_not_come_end_the_run_with_one_clear_line(tmp_path: Path) -> None:
    port = free_port()
    started = time.monotonic()
    completed = _loadcap(
        "run", "--users", "2", "--duration", "3s", "--out", str(tmp_path),
        "--expect-workers", "2", "--expect-workers-max-wait", "2s",
        "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port),
    )  # fmt: skip

    assert completed.returncode == 1
    assert time.monotonic() - started < 60
    lines = [line for line in completed.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, completed.stderr
    assert "waited 2 s on 127.0.0.1" in lines[0] and "for 2 Locust worker(s)" in lines[0]
    assert "--worker --master-host 127.0.0.1" in lines[0]
    assert "Traceback" not in completed.stdout + completed.stderr
    assert not (tmp_path / "locust_stats.csv").exists()  # nothing was measured
    assert not (tmp_path / "summary.json").exists()


@pytest.mark.parametrize(
    ("flags", "words"),
    [
        (["--expect-workers", "0"], "--expect-workers must be"),
        (["--expect-workers", "2", "--processes", "2"], "cannot be combined"),
        (["--expect-workers", "1", "--master-bind-port", "70000"], "--master-bind-port"),
        (["--expect-workers", "1", "--expect-workers-max-wait", "soon"], "duration"),
    ],
)
def test_bad_worker_flags_are_one_line_and_exit_two(
    tmp_path: Path, flags: list[str], words: str
) -> None:
    completed = _loadcap("run", "--host", "http://127.0.0.1:9", "--out", str(tmp_path), *flags)

    assert completed.returncode == 2, completed.stderr
    assert len(completed.stderr.strip().splitlines()) == 1, completed.stderr
    assert words in completed.stderr


def test_local_processes_get_a_master_port_of_their_own_on_loopback() -> None:
    first = master_arguments(2, None)

    assert first[:2] == ["--processes", "2"]
    bind = dict(zip(first[2::2], first[3::2], strict=True))
    assert bind["--master-bind-host"] == "127.0.0.1"
    assert bind["--master-bind-port"] == bind["--master-port"] != "5557"
    assert master_arguments(1, None) == []


def test_external_workers_make_a_master_that_waits_a_bounded_time() -> None:
    workers = ExternalWorkers(count=3, bind_host="10.0.0.5", bind_port=6000, max_wait_s=89.5)

    assert master_arguments(1, workers) == [
        "--master", "--expect-workers", "3", "--expect-workers-max-wait", "90",
        "--master-bind-host", "10.0.0.5", "--master-bind-port", "6000",
    ]  # fmt: skip
    assert workers.worker_command() == (
        'locust -f "$(loadcap locustfile)" --worker --master-host 10.0.0.5 --master-port 6000'
    )
