"""ServiceProcess and the `embedded_service` fixture: a real uvicorn subprocess."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from target_service.process import ServiceProcess, ServiceStartError, stop_process
from target_service.settings import Settings
from tests.fixtures.service import EMBEDDED_PROFILES

pytestmark = pytest.mark.servers  # starts the service, Locust or a browser


def test_embedded_service_is_seeded_and_unlimited(embedded_service: ServiceProcess) -> None:
    with httpx.Client(base_url=embedded_service.base_url) as client:
        assert client.get(f"/api/profile/{EMBEDDED_PROFILES}").status_code == 200
        statuses = {client.get("/api/profile/1").status_code for _ in range(150)}
        assert statuses == {200}  # more than the default 100/minute: rate limiting is off
        assert client.get("/health").json()["checks"].keys() == {"database", "cache"}


def test_stop_terminates_the_process_and_removes_its_files() -> None:
    service = ServiceProcess(profiles=10)
    with service:
        pid = service.pid
        assert pid is not None
        assert httpx.get(service.base_url + "/api/profile/10").status_code == 200
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert not service.workdir.exists()
    with pytest.raises(httpx.ConnectError):
        httpx.get(service.base_url + "/health")


def test_settings_reach_every_worker(tmp_path: Path) -> None:
    settings = Settings(
        db_url=f"sqlite:///{tmp_path / 'workers.db'}",
        rate_limit=None,
        max_page_limit=7,
        default_page_limit=5,
    )
    with ServiceProcess(settings, profiles=20, workers=2) as service:
        for _ in range(10):  # requests spread over both workers
            body = httpx.get(service.base_url + "/api/profiles?limit=50").json()
            assert body["limit"] == 7
    assert (tmp_path / "workers.db").exists()  # a given database is the caller's


def test_a_service_that_cannot_start_reports_its_log() -> None:
    settings = Settings(db_url="sqlite:////proc/no/such/dir/x.db", rate_limit=None)
    with pytest.raises(ServiceStartError, match=r"x\.db"):
        ServiceProcess(settings, profiles=1, startup_timeout_s=20).start()


def test_several_workers_without_redis_never_serve_a_value_older_than_a_patch(
    tmp_path: Path,
) -> None:
    """Per-worker in-process caches cannot invalidate each other: such a service must not
    cache, or a GET answered by the other worker shows the old bio for a whole TTL."""
    settings = Settings(db_url=f"sqlite:///{tmp_path / 'w.db'}", rate_limit=None)
    with ServiceProcess(settings, profiles=5, workers=2) as service:
        url = service.base_url + "/api/profile/1"
        for _ in range(20):  # warm whatever caches both workers have
            httpx.get(url)
        for round_ in range(5):
            bio = f"bio {round_}"
            patched = httpx.patch(url, json={"bio": bio})
            assert patched.status_code == 200
            # New connections, no cookie: each GET may land on either worker.
            bios = [httpx.get(url).json()["bio"] for _ in range(8)]
            assert bios == [bio] * 8


def _spawn(code: str, *, new_session: bool = False) -> subprocess.Popen[bytes]:
    """A Python child that prints `ready` once set up; its children share its stdout."""
    process = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, start_new_session=new_session
    )
    assert process.stdout is not None
    if process.stdout.readline() != b"ready\n":
        stop_process(process, group=new_session)
        process.stdout.close()
        raise AssertionError("the child did not start")
    return process


def _rest_of_output(process: subprocess.Popen[bytes]) -> bytes:
    """What is left on stdout, once every process holding it has ended (10 s at most)."""
    assert process.stdout is not None
    readable, _, _ = select.select([process.stdout], [], [], 10.0)
    assert readable, "a process holding stdout is still running"
    return process.stdout.read()


SLEEPER = "import time; print('ready', flush=True); time.sleep(60)"
DEAF_TO_SIGTERM = (
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "print('ready', flush=True); time.sleep(60)"
)
# A leader that ignores SIGTERM and a child of it that says so on SIGTERM (and is `ready`).
CHILD = """
import signal, sys, time
def said(*_):
    print("child got SIGTERM", flush=True)
    sys.exit(0)
signal.signal(signal.SIGTERM, said)
print("ready", flush=True)
time.sleep(60)
"""
FAMILY = f"""
import signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
subprocess.Popen([sys.executable, "-c", {CHILD!r}])
time.sleep(60)
"""


def test_stop_process_returns_the_status_of_the_first_signal_obeyed() -> None:
    with _spawn(SLEEPER) as process:
        assert stop_process(process) == -signal.SIGTERM


def test_a_process_deaf_to_the_graceful_signal_is_killed_after_its_grace() -> None:
    with _spawn(DEAF_TO_SIGTERM) as process:
        signals = ((signal.SIGTERM, 0.3), (signal.SIGKILL, 5.0))
        assert stop_process(process, signals=signals) == -signal.SIGKILL


def test_an_ended_process_gets_no_signal_and_keeps_its_status() -> None:
    with subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"]) as process:
        process.wait()
        assert stop_process(process, group=True) == 3


def test_group_sends_every_signal_to_the_whole_process_group() -> None:
    with _spawn(FAMILY, new_session=True) as process:
        signals = ((signal.SIGTERM, 0.3), (signal.SIGKILL, 5.0))
        assert stop_process(process, signals=signals, group=True) == -signal.SIGKILL
        assert _rest_of_output(process) == b"child got SIGTERM\n"


def test_group_kill_only_spares_the_children_the_graceful_signal() -> None:
    with _spawn(FAMILY, new_session=True) as process:
        signals = ((signal.SIGTERM, 0.3), (signal.SIGKILL, 5.0))
        assert stop_process(process, signals=signals, group={signal.SIGKILL}) == -signal.SIGKILL
        assert _rest_of_output(process) == b""  # killed with the leader, never told to stop
