"""`loadcap run` flags mean what they say: an error budget flag, a rate-limit hint, the spawn rate
that ran, no silent --rps/--users mix, a reused --out without stale files, SIGTERM = Ctrl+C,
the id range learned from the target."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from cli import app
from loadtests.id_range import highest_profile_id
from pipeline.runner import RunSettings, locust_command
from target_service.process import ServiceProcess
from target_service.settings import Settings
from tests.fixtures.ports import free_port, wait_for_port

pytestmark = pytest.mark.servers  # starts the service, Locust or a browser

LOADCAP = Path(sys.executable).with_name("loadcap")


def test_max_error_rate_flag_takes_the_ratio_convention() -> None:
    result = CliRunner().invoke(app, ["run", "--max-error-rate", "1"])
    assert result.exit_code == 2 and "write 1% for 1 percent" in result.output


def test_rate_limited_target_gets_the_hint(tmp_path: Path) -> None:
    settings = Settings(db_url=f"sqlite:///{tmp_path}/db.sqlite", rate_limit="100/minute")
    with ServiceProcess(settings, profiles=50) as service:
        result = subprocess.run(
            [str(LOADCAP), "run", "--host", service.base_url, "--users", "2", "--duration",
             "3s", "--out", str(tmp_path / "run")],
            capture_output=True, text=True, timeout=90, check=False,
        )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    message = " ".join(result.stderr.split())
    assert "the target is rate limiting; start it with `--rate-limit off`" in message


def test_spawn_rate_given_is_the_spawn_rate_that_runs_and_is_recorded(tmp_path: Path) -> None:
    settings = RunSettings(out_dir=tmp_path, users=100, spawn_rate=5)
    command = locust_command(settings, "http://127.0.0.1:1", 1000)
    assert command[command.index("--spawn-rate") + 1] == "5"
    assert settings.spawn_rate_for(1) == 5


def test_default_spawn_rate_starts_every_user_in_the_first_second(tmp_path: Path) -> None:
    settings = RunSettings(out_dir=tmp_path, users=40)
    command = locust_command(settings, "http://127.0.0.1:1", 1000)
    assert command[command.index("--spawn-rate") + 1] == "40"


def test_rps_with_users_is_a_clear_error() -> None:
    result = CliRunner().invoke(app, ["run", "--rps", "50", "--users", "20"])
    assert result.exit_code == 2
    assert "--rps" in result.output and "cannot be combined" in result.output


def test_the_id_range_is_learned_from_the_target(tmp_path: Path) -> None:
    settings = Settings(db_url=f"sqlite:///{tmp_path}/a.sqlite", rate_limit=None)
    with ServiceProcess(settings, profiles=137) as service:
        assert highest_profile_id(service.base_url) == 137
    empty = Settings(db_url=f"sqlite:///{tmp_path}/b.sqlite", rate_limit=None)
    with ServiceProcess(empty, profiles=0) as service:
        assert highest_profile_id(service.base_url) == 0


def test_id_count_flag_reaches_locust(tmp_path: Path) -> None:
    settings = RunSettings(out_dir=tmp_path, id_count=10_000)
    assert RunSettings(out_dir=tmp_path).id_count is None
    command = locust_command(settings, "http://127.0.0.1:1", 10_000)
    assert command[command.index("--id-count") + 1] == "10000"
    assert "--id-count" in CliRunner().invoke(app, ["run", "--help"]).output


def test_a_run_into_a_reused_out_dir_agrees_with_its_report(tmp_path: Path) -> None:
    out = tmp_path / "run"
    (out / "metrics").mkdir(parents=True)
    for stale in ("report.md", "report.html", "metrics/0009-after.prom"):
        (out / stale).write_text("stale", encoding="utf-8")
    result = subprocess.run(
        [str(LOADCAP), "run", "--users", "4", "--spawn-rate", "2", "--duration", "4s",
         "--out", str(out)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert not (out / "report.md").exists() and not (out / "report.html").exists()
    assert not (out / "metrics" / "0009-after.prom").exists()
    record = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert record["spawn_rate"] == 2 and record["users"] == 4
    totals = json.loads((out / "summary.json").read_text(encoding="utf-8"))["totals"]
    assert f"whole run: {totals['rps']:.1f} req/s" in result.stdout


def _wait_for(path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.1)


def _assert_gone(url: str) -> None:
    with pytest.raises(httpx.TransportError):
        httpx.get(url + "/health", timeout=2.0)


@pytest.mark.parametrize("web", [False, True], ids=["headless", "web"])
def test_sigterm_stops_locust_and_the_embedded_service(tmp_path: Path, web: bool) -> None:
    out = tmp_path / "run"
    command = [str(LOADCAP), "run", "--users", "2", "--duration", "2m", "--out", str(out)]
    web_port = free_port()
    if web:
        command += ["--web", "--web-port", str(web_port)]
    with (tmp_path / "loadcap.log").open("wb") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        if web:
            wait_for_port(web_port, timeout=60)
            host = httpx.get(f"http://127.0.0.1:{web_port}/", timeout=5).text
            assert "locust" in host.lower()
        else:
            _wait_for(out / "progress.json", timeout=60)  # Locust is generating load
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=45)
        assert time.monotonic() - started < 45
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    record = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert record["elapsed_s"] < 100
    _assert_gone(record["host"])  # the embedded service was stopped
    if web:
        with pytest.raises(httpx.TransportError):
            httpx.get(f"http://127.0.0.1:{web_port}/", timeout=2.0)
