"""`loadcap scaleout` end to end on real servers: the local topology (MariaDB master + replica,
Redis, nginx, capped instances) writes scaleout.csv/json with one point per N; a user's scale
command (a stand-in for kubectl, starting and stopping real instances) is obeyed and waited
for; bad flags and a machine without cgroups are refused with one line and exit 2."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from typer.testing import CliRunner

from cli import app
from pipeline.fleet import wait_for_instances
from rundir.scaleout_json import read_scaleout
from target_service.cpu_cap import CpuCap, CpuCapError
from tests.fixtures.mariadb_server import MariaDBServer
from tests.fixtures.nginx_server import NginxServer
from tests.fixtures.ports import free_port
from tests.fixtures.servers_required import require_binary

LOADCAP = Path(sys.executable).with_name("loadcap")
SHORT = ["--duration", "3s", "--warmup", "2s", "--users-per-instance", "4", "--processes", "1"]


def cgroups_writable() -> bool:
    try:
        CpuCap.create(0.5, name="test-probe").remove()
    except CpuCapError:
        return False
    return True


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--instances", "0,1"], "--instances must be distinct positive whole numbers"),
        (["--instances", "1,1"], "--instances must be distinct positive whole numbers"),
        (["--instances", "1,x"], "--instances expects comma-separated whole numbers"),
        (["--instances", "1,99"], "at most 32 instances"),
        (["--cpu-per-instance", "0"], "--cpu-per-instance must be a positive number"),
        (["--repeat", "0"], "--repeat must be between 1 and 10"),
        (["--duration", "1s"], "--duration must be at least 2s"),
        (["--replica", "mysql://root@127.0.0.1/x"], "--replica and --redis need --db"),
        (["--db", "sqlite:///x.db"], "--db must be a mysql:// URL"),
        (["--host", "http://127.0.0.1:1"], "--host and --metrics-url go with --scale-cmd"),
        (["--scale-cmd", "kubectl scale --replicas=3"], "--scale-cmd must contain {n}"),
        (["--scale-cmd", "echo {n}"], "--scale-cmd needs --host"),
    ],
)
def test_bad_flags_are_one_line_and_exit_2(flags: list[str], message: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["scaleout", *flags, "--out", str(tmp_path / "so")])
    assert result.exit_code == 2, result.output
    assert message in result.output.replace("\n", " ")
    assert not (tmp_path / "so").exists()  # nothing was started


def test_no_cgroup_is_a_refusal_not_an_uncapped_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object, **kwargs: object) -> CpuCap:
        raise CpuCapError("no writable cgroup cpu controller under /sys/fs/cgroup")

    monkeypatch.setattr(CpuCap, "create", refuse)
    result = CliRunner().invoke(app, ["scaleout", "--out", str(tmp_path / "so")])
    assert result.exit_code == 2, result.output
    assert "no CPU cap can be made here" in result.output.replace("\n", " ")


@pytest.mark.servers
@pytest.mark.timeout(400)
def test_the_local_topology_measures_one_point_per_instance_count(tmp_path: Path) -> None:
    for binary in ("mariadbd", "redis-server", "nginx"):
        require_binary(binary, f"/usr/sbin/{binary}")
    if not cgroups_writable():
        pytest.skip("no writable cgroup cpu controller here")
    out = tmp_path / "so"
    done = subprocess.run(
        [str(LOADCAP), "scaleout", "--instances", "1,2", "--cpu-per-instance", "0.15",
         *SHORT, "--profiles", "200", "--out", str(out)],
        capture_output=True, text=True, timeout=360,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "seed line:" in done.stdout
    with (out / "scaleout.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["instances"] for row in rows] == ["1", "2"]
    assert all(float(row["throughput_rps"]) > 0 for row in rows)
    document = read_scaleout(out / "scaleout.json")
    assert [point.instances for point in document.points] == [1, 2]
    repeat = document.points[1].repeats[0]
    tiers = {tier.name: tier for tier in repeat.tiers}
    assert set(tiers) == {"instances", "generator", "nginx", "master", "replica0", "redis"}
    # Two instances capped at 0.15 core cannot have used more than 0.3 core.
    assert 0 < (tiers["instances"].cores_used or 0) <= 0.3 * 1.1
    assert {c.node for c in repeat.connections} == {"master", "replica0"}
    assert all((c.threads_connected or 0) >= 2 for c in repeat.connections)
    assert (out / (repeat.run_dir or "") / "summary.json").is_file()
    evidence = repeat.evidence  # what the instances did per request, from their /metrics
    assert evidence is not None and evidence.requests > 0
    assert evidence.cache_lookups > 0 and evidence.l1_hit_ratio is not None
    assert evidence.round_trips_per_request is not None
    assert set(evidence.db_queries) <= {"master", "replica0"} and evidence.db_queries
    assert evidence.throttled_share is not None and evidence.machine_busy is not None
    assert document.points[1].evidence is not None and document.bend is not None
    assert document.settings.topology == "local" and document.settings.cpu_per_instance == 0.15
    assert "scale-out" in (out / "report.md").read_text().lower()
    assert (out / "report.html").is_file()


@pytest.mark.servers
@pytest.mark.timeout(400)
def test_sigterm_keeps_the_points_measured_and_stops_the_fleet(tmp_path: Path) -> None:
    for binary in ("mariadbd", "redis-server", "nginx"):
        require_binary(binary, f"/usr/sbin/{binary}")
    if not cgroups_writable():
        pytest.skip("no writable cgroup cpu controller here")
    out = tmp_path / "so"
    with (tmp_path / "loadcap.log").open("wb") as log:
        process = subprocess.Popen(
            [str(LOADCAP), "scaleout", "--instances", "1,2", *SHORT, "--duration", "20s",
             "--profiles", "200", "--out", str(out)],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        second = out / "points" / "n2-r1" / "locust.log"
        deadline = time.monotonic() + 240
        while not second.exists() and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.5)
        assert second.exists(), (tmp_path / "loadcap.log").read_text()
        children = psutil.Process(process.pid).children(recursive=True)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=120) == 130, (tmp_path / "loadcap.log").read_text()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    document = read_scaleout(out / "scaleout.json")
    assert [point.instances for point in document.points] == [1]
    assert any("interrupted" in warning for warning in document.warnings)
    _, alive = psutil.wait_procs(children, timeout=30)
    assert not alive, [p.cmdline() for p in alive]


SCALE_SCRIPT = """
import json, os, signal, subprocess, sys, time, urllib.request
n, state_path, calls = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ports = json.loads(os.environ["FLEET_PORTS"])
state = json.load(open(state_path)) if os.path.exists(state_path) else {}
open(calls, "a").write(f"{n}\\n")
for index, port in enumerate(ports):
    key = str(port)
    if index < n and key not in state:
        log = open(f"{state_path}.{port}.log", "wb")
        state[key] = subprocess.Popen(
            [sys.executable, "-m", "target_service.server", "--port", key, "--seed", "200"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True).pid
        json.dump(state, open(state_path, "w"))
        for _ in range(600):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
    elif index >= n and key in state:
        os.kill(state.pop(key), signal.SIGTERM)
json.dump(state, open(state_path, "w"))
"""


@pytest.mark.timeout(400)
def test_a_scale_command_is_obeyed_and_waited_for(
    tmp_path: Path, mariadb_db: MariaDBServer, nginx_server: object
) -> None:
    ports = [free_port(), free_port()]
    script, state, calls = tmp_path / "scale.py", tmp_path / "fleet.json", tmp_path / "calls"
    script.write_text(SCALE_SCRIPT, encoding="utf-8")
    env = {
        **os.environ,
        "FLEET_PORTS": json.dumps(ports),
        "LOADCAP_DB_URL": mariadb_db.url,
        "LOADCAP_RATE_LIMIT": "off",
        "LOADCAP_LOG_LEVEL": "warning",
    }
    lb: NginxServer = nginx_server(ports)  # type: ignore[operator]
    metrics = ",".join(f"http://127.0.0.1:{port}/metrics" for port in ports)
    out = tmp_path / "so"
    try:
        done = subprocess.run(
            [str(LOADCAP), "scaleout", "--instances", "2,1", *SHORT, "--profiles", "200",
             "--scale-cmd", f"{sys.executable} {script} {{n}} {state} {calls}",
             "--host", lb.base_url, "--metrics-url", metrics, "--out", str(out)],
            capture_output=True, text=True, timeout=360, env=env,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        assert calls.read_text().split() == ["1", "2"]
        document = read_scaleout(out / "scaleout.json")
        assert document.settings.topology == "scale_cmd"
        assert [p.instances for p in document.points] == [1, 2]
        assert all(p.throughput_rps > 0 for p in document.points)
        # The last command left two instances: /health through nginx answers from both.
        assert len(wait_for_instances(lb.base_url, 2, timeout_s=30)) == 2
    finally:
        for pid in json.loads(state.read_text()).values() if state.exists() else ():
            os.killpg(pid, signal.SIGKILL)


def test_a_failing_scale_command_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["scaleout", "--instances", "1", "--scale-cmd", "sh -c 'echo no cluster >&2; exit 3' {n}",
         "--host", "http://127.0.0.1:9", "--metrics-url", "http://127.0.0.1:9/metrics",
         "--out", str(tmp_path / "so")],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "exited 3: no cluster" in result.output.replace("\n", " ")
