"""The Locust web UI with our locustfile, driven by real headless Chromium."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from capacity.quick import plan_estimate
from pipeline.embedded import reference_service
from pipeline.runner import LOCUSTFILE
from tests.fixtures.ports import free_port, wait_for_port
from tests.fixtures.servers_required import require_binary

pytestmark = pytest.mark.servers  # starts the service, Locust or a browser

if TYPE_CHECKING:
    from playwright.sync_api import Page

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ENDPOINT_ROWS = [
    ("GET", "/api/profiles"),
    ("GET", "/api/profile/{id}"),
    ("POST", "/api/profiles"),
    ("PATCH", "/api/profile/{id}"),
]


@contextmanager
def chromium_page(url: str) -> Iterator[Page]:
    """A page of headless Chromium open at `url` (the test is skipped without Chromium)."""
    chromium = require_binary("chromium", "/usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(url)
            yield page
        finally:
            browser.close()


@contextmanager
def locust_web_ui(log_path: Path, *extra: str, run_time: str) -> Iterator[str]:
    """Locust's web UI (not started) against the embedded service; yields the UI's URL."""
    port = free_port()
    with reference_service() as service:
        command = [
            sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--host", service.base_url,
            "--web-host", "127.0.0.1", "--web-port", str(port), "--run-time", run_time, *extra,
        ]  # fmt: skip
        with log_path.open("w") as log:
            process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        try:
            wait_for_port(port, timeout=30)
            yield f"http://127.0.0.1:{port}"
        finally:
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture
def locust_web(tmp_path: Path) -> Iterator[str]:
    with locust_web_ui(tmp_path / "locust.log", run_time="25s") as url:
        yield url


def test_swarm_from_the_ui_fills_the_table_and_the_capacity_tab(locust_web: str) -> None:
    with chromium_page(locust_web + "/") as page:
        assert page.locator("input[name=mix]").input_value() == "80,10,5,5"
        page.fill("input[name=userCount]", "5")
        page.fill("input[name=spawnRate]", "5")
        page.click("button[type=submit]")

        page.get_by_text("/api/profile/{id}").first.wait_for(timeout=20_000)
        page.wait_for_timeout(2_500)  # a few refreshes, so all four endpoints have rows
        statistics = [line.split("\t") for line in page.inner_text("table").splitlines()]
        for method, name in ENDPOINT_ROWS:
            row = next(r for r in statistics if r[:2] == [method, name])
            assert int(row[2]) > 0 and int(row[3]) == 0, row  # requests, no failures

        page.get_by_role("tab", name="Capacity").click()
        page.get_by_text("Instances needed").wait_for(timeout=10_000)
        # Sized from the service's CPU per request once two scrapes are in.
        page.wait_for_function(
            "() => /per core \\(req\\/s\\)\\s+[0-9]/"
            ".test(document.querySelector('table').innerText)",
            timeout=20_000,
        )
        capacity = dict(line.split("\t", 1) for line in page.inner_text("table").splitlines()[1:])
        per_core = float(capacity["Service capacity per core (req/s)"].replace(",", ""))
        plan = plan_estimate(1000, per_core_rps=per_core)
        assert capacity["Swarm"] == "running"
        assert float(capacity["Current throughput (req/s)"]) > 0
        assert capacity["Target load (req/s)"] == "1000"
        assert capacity["Instances needed"] == str(plan.instances)
        assert capacity["Monthly cost, app tier (EC2 + CPU credits)"] == (
            f"${plan.app_tier_monthly_usd:,.2f}"
        )
        assert capacity["Monthly cost, whole plan"] == f"${plan.monthly_total_usd:,.2f}"
        assert capacity["Same as"] == plan.command
        assert capacity["Service CPU"].endswith("%)")
        assert capacity["Nearest limit"].startswith(("load generator", "service CPU"))
        assert "70% target CPU utilization, +1 spare" in capacity["Assumptions"]
        assert "/capacity" in capacity["Change the target load"]

        # The target load is editable live on the /capacity page.
        page.goto(locust_web + "/capacity")
        page.fill("#target", "500000")
        page.click("button[type=submit]")
        page.get_by_text("500000", exact=True).wait_for(timeout=10_000)
        edited = dict(line.split("\t", 1) for line in page.inner_text("#rows").splitlines())
        edited_per_core = float(edited["Service capacity per core (req/s)"].replace(",", ""))
        bigger = plan_estimate(500_000, per_core_rps=edited_per_core)
        assert edited["Instances needed"] == str(bigger.instances)
        assert bigger.instances > plan.instances
