"""The web UI's shapes honour the user count typed in the start form (real headless Chromium)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.loadtests.test_web_ui import chromium_page, locust_web_ui

pytestmark = pytest.mark.servers  # starts the service, Locust or a browser


@pytest.fixture
def picker_web(tmp_path: Path) -> Iterator[str]:
    """Locust's web UI with --class-picker (shapes selectable), not started."""
    with locust_web_ui(tmp_path / "locust.log", "--class-picker", run_time="40s") as url:
        yield url


def _wait_for_users(url: str, users: int, timeout: float) -> int:
    deadline, seen = time.monotonic() + timeout, -1
    while time.monotonic() < deadline:
        seen = int(httpx.get(url + "/stats/requests", timeout=5).json()["user_count"])
        if seen == users:
            return seen
        time.sleep(0.25)
    return seen


@pytest.mark.parametrize("shape", ["SoakShape", "SpikeShape"])
def test_a_shape_picked_in_the_form_runs_the_user_count_typed(picker_web: str, shape: str) -> None:
    with chromium_page(picker_web + "/") as page:
        page.select_option("select[name=shapeClass]", shape)
        users = page.locator("input[name=userCount]")
        assert users.is_enabled(timeout=5_000)  # Locust disables it unless told otherwise
        users.fill("3")
        page.fill("input[name=spawnRate]", "3")
        page.click("button[type=submit]")
        assert _wait_for_users(picker_web, 3, timeout=20) == 3
