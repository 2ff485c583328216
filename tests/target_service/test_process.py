"""ServiceProcess and the `embedded_service` fixture: a real uvicorn subprocess."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from target_service.process import ServiceProcess, ServiceStartError
from target_service.settings import Settings
from tests.fixtures.service import EMBEDDED_PROFILES


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
