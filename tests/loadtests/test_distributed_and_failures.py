"""--processes 2 merges into one set of outputs; a dead host fails cleanly and on time."""

import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.runner import RunSettings, run_load_test
from reports.generator import load_generator
from tests.fixtures.ports import free_port
from tests.loadtests.profiles_double import profiles_double
from tests.loadtests.run_dir import FOUR_ENDPOINTS, load_json, locust_rows

pytestmark = pytest.mark.servers  # starts the service, Locust or a browser

LOADCAP = [sys.executable, "-c", "import cli; cli.main()"]


def test_two_processes_merge_stats_and_hdr_into_one_set_of_outputs(tmp_path: Path) -> None:
    with profiles_double() as url:
        settings = RunSettings(out_dir=tmp_path, host=url, users=8, duration_s=5, processes=2)
        outcome = run_load_test(settings)
    assert outcome.exit_code == 0, outcome.message
    rows = locust_rows(tmp_path)
    hdr = load_json(tmp_path / "hdr.json")["endpoints"]
    assert set(rows) - {"Aggregated"} == FOUR_ENDPOINTS
    for name, row in rows.items():  # every worker's histogram reached the master
        assert hdr[name]["count"] == int(row["Request Count"]), name
    assert sorted(p.name for p in tmp_path.glob("locust_*")) == [
        "locust_exceptions.csv",
        "locust_failures.csv",
        "locust_report.html",
        "locust_stats.csv",
        "locust_stats_history.csv",
    ]
    assert "to 2 ready workers" in (tmp_path / "locust.log").read_text()
    assert load_json(tmp_path / "run.json")["processes"] == 2
    # Each worker's own CPU reached the master's generator.csv (not the master's, forked).
    frame = load_generator(tmp_path)
    assert frame is not None
    assert {"master", "worker-1", "worker-2", "machine"} <= set(frame["process"])
    # A forked worker's CPU counter starts near zero; the master's first sample already holds
    # its start-up (importing Locust). A worker sampling the master would start above it.
    first = frame.groupby("process")["cpu_s"].min()
    assert first["worker-1"] < first["master"] and first["worker-2"] < first["master"]


def test_dead_host_ends_on_time_with_failures_and_one_clear_line(tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    completed = subprocess.run(
        [
            *LOADCAP,
            "run",
            "--host",
            dead,
            "--duration",
            "3s",
            "--users",
            "2",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    elapsed = time.monotonic() - started
    assert completed.returncode == 1
    assert elapsed < 20
    assert "Traceback" not in completed.stderr + completed.stdout
    error_lines = [line for line in completed.stderr.splitlines() if line.strip()]
    assert len(error_lines) == 1 and "failed" in error_lines[0], completed.stderr
    aggregated = locust_rows(tmp_path)["Aggregated"]
    assert int(aggregated["Failure Count"]) == int(aggregated["Request Count"]) > 0
    assert load_json(tmp_path / "run.json")["exit_code"] == 1


def test_malformed_flags_are_one_line_and_exit_code_two(tmp_path: Path) -> None:
    for flags in (["--duration", "5x"], ["--mix", "1,2"], ["--shape", "zigzag"], ["--rps", "-3"]):
        completed = subprocess.run(
            [*LOADCAP, "run", "--host", "http://127.0.0.1:9", "--out", str(tmp_path), *flags],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert completed.returncode == 2, (flags, completed.stderr)
        assert len(completed.stderr.strip().splitlines()) == 1, completed.stderr
        assert "Traceback" not in completed.stderr
