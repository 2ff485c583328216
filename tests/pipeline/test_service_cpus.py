"""`--service-cpus` and `serve --cpus`: a capped run records its cap and the service's
throttling; where no cap can be made, the CLI refuses in one line (exit 2) and runs nothing."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from cli import EXIT_BAD_INPUT, app
from pipeline.run import run_and_summarise
from pipeline.runner import RunSettings
from target_service import cpu_cap
from target_service.cpu_cap import CpuCap, CpuCapError
from target_service.process import free_port, stop_process

pytestmark = pytest.mark.servers  # starts the service, Locust or a browser


def _cannot_cap() -> str | None:
    try:
        CpuCap.create(1.0, name="probe").remove()
    except CpuCapError as exc:
        return str(exc)
    return None


CANNOT_CAP = _cannot_cap()


@pytest.fixture
def no_cgroups(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A machine whose cgroup mount has no cpu controller: an empty directory."""
    root = tmp_path / "cgroup"
    root.mkdir()
    monkeypatch.setattr(cpu_cap, "CGROUP_ROOT", root)
    return root


def _one_line_refusal(args: list[str], *needles: str) -> None:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    for needle in needles:
        assert needle in result.stderr


def test_run_refuses_to_run_uncapped_where_no_cgroup_can_be_made(
    no_cgroups: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    _one_line_refusal(
        ["run", "--service-cpus", "0.25", "--duration", "5s", "--out", str(out)],
        "--service-cpus 0.25: no cgroup cpu controller under",
    )
    assert not (out / "locust_stats.csv").exists()  # Locust never started


def test_serve_refuses_to_serve_uncapped_where_no_cgroup_can_be_made(
    no_cgroups: Path, tmp_path: Path
) -> None:
    db = tmp_path / "serve.db"
    args = ["serve", "--cpus", "0.25", "--port", str(free_port()), "--db", f"sqlite:///{db}"]
    _one_line_refusal(args, "no cgroup cpu controller under")
    assert not db.exists()  # refused before the database was created or seeded


def test_serve_refuses_a_cap_above_the_machine_before_touching_the_database(
    tmp_path: Path,
) -> None:
    db = tmp_path / "serve.db"
    cpus = str((os.cpu_count() or 1) + 1)
    args = ["serve", "--cpus", cpus, "--port", str(free_port()), "--db", f"sqlite:///{db}"]
    _one_line_refusal(args, "CPUs this machine has")
    assert not db.exists()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["run", "--host", "http://127.0.0.1:9", "--service-cpus", "0.25"], "not one at --host"),
        (["sweep", "--host", "http://127.0.0.1:9", "--service-cpus", "0.25"], "not one at --host"),
        (["run", "--service-cpus", "0"], "--service-cpus must be a positive number of cores"),
        (["demo", "--service-cpus", "-1"], "--service-cpus must be a positive number of cores"),
    ],
)
def test_service_cpus_for_a_foreign_service_or_no_cores_is_refused(
    tmp_path: Path, args: list[str], needle: str
) -> None:
    _one_line_refusal([*args, "--out", str(tmp_path / "out")], needle)


@pytest.mark.skipif(CANNOT_CAP is not None, reason=f"no CPU cap here: {CANNOT_CAP}")
@pytest.mark.timeout(120)
def test_a_capped_step_run_records_its_cap_and_the_throttling_of_each_stage(
    tmp_path: Path,
) -> None:
    settings = RunSettings(
        out_dir=tmp_path / "capped", users=2, shape="step", step_seconds=5.0, duration_s=15.0,
        service_cpu_cap=0.2,
    )  # fmt: skip

    report = run_and_summarise(settings)

    summary = report.summary
    assert summary is not None and summary.run is not None and summary.capacity is not None
    assert summary.run.service_cpu_cap is not None
    assert (summary.run.service_cpu_cap.cores, summary.run.service_cpu_cap.period_us) == (
        0.2,
        10_000,
    )
    rows = summary.use or []
    assert [row.users for row in rows] == [2, 4, 6]
    assert all(row.cpu_periods is not None and row.throttled_periods is not None for row in rows)
    assert all(row.service_cores_available == 0.2 for row in rows)  # the cap, not a core
    # Six closed-loop users want far more than a fifth of a core: the quota ran out.
    assert sum(row.throttled_periods or 0 for row in rows) > 0
    assert max(row.service_cores_used or 0 for row in rows) < 0.2 * 1.25
    check = summary.capacity.model_check
    limits = {row.limit for row in rows}
    if summary.capacity.first_limit == "service_cpu" and "none" in limits:
        assert check is not None and check.cap_cores == 0.2
        demand = check.service_cpu_s_per_request or 1.0
        assert check.predicted_rps == pytest.approx(0.2 / demand, abs=0.05)  # rounded to 0.1
        assert check.error == pytest.approx(
            (check.observed_rps or 0) / (check.predicted_rps or 1) - 1, abs=1e-3
        )
    else:  # a busy machine starved every stage, or none saturated: no check is made
        assert check is None


@pytest.mark.skipif(CANNOT_CAP is not None, reason=f"no CPU cap here: {CANNOT_CAP}")
@pytest.mark.timeout(90)
def test_serve_with_cpus_runs_every_worker_in_the_cap_and_leaves_no_cgroup(tmp_path: Path) -> None:
    port = free_port()
    command = [str(Path(sys.executable).with_name("loadcap")), "serve", "--cpus", "0.5",
               "--workers", "2", "--port", str(port), "--db", f"sqlite:///{tmp_path / 's.db'}",
               "--seed-profiles", "10"]  # fmt: skip
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        text = _metrics_when_up(f"http://127.0.0.1:{port}/metrics", process)
        caps = [p for p in cpu_cap.CGROUP_ROOT.glob(f"*/{cpu_cap.PARENT}/{process.pid}-*")]
        assert len(caps) == 1
        members = set(map(int, (caps[0] / "cgroup.procs").read_text().split()))
        assert process.pid in members and len(members) >= 3  # serve and its two workers
        assert "loadcap_cpu_quota_cores 0.5" in text
    finally:
        stop_process(process)
        log.close()
    assert process.returncode == 0
    deadline = time.monotonic() + 10
    while caps[0].exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not caps[0].exists()


def _metrics_when_up(url: str, process: subprocess.Popen[bytes]) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, "loadcap serve exited"
        try:
            return httpx.get(url).text
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"{url} never answered")
