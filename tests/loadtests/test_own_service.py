"""docs/own-service.md, end to end: a user's own locustfile (one line for loadcap's plugin)
against a small shop service that is not the reference service (other routes, other JSON),
through `loadcap run -f`, `report`, `plan --from` and `gate`; the web UI has the Capacity tab."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fixtures.ports import free_port, wait_for_port
from tests.loadtests.profiles_double import serving

pytestmark = pytest.mark.servers  # starts the service, Locust or a browser

LOADCAP = Path(sys.executable).with_name("loadcap")
ORDERS = [{"order": n, "total_cents": 100 * n, "status": "paid"} for n in range(1, 21)]

SHOP_LOCUSTFILE = """
from locust import HttpUser, constant, task

import loadtests.plugin  # noqa: F401  loadcap: run directory, HDR, shapes, Capacity tab


class ShopUser(HttpUser):
    wait_time = constant(0.005)

    @task(3)
    def list_orders(self) -> None:
        with self.client.get("/v1/orders", catch_response=True) as response:
            if "orders" not in response.json():
                response.failure("no orders")

    @task(1)
    def one_order(self) -> None:
        self.client.get("/v1/orders/7", name="/v1/orders/{n}")
"""


class ShopHandler(BaseHTTPRequestHandler):
    requests_served = 0

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        ShopHandler.requests_served += 1
        if self.path == "/v1/orders":
            self._reply(200, "application/json", json.dumps({"orders": ORDERS}))
        elif self.path.startswith("/v1/orders/"):
            self._reply(200, "application/json", json.dumps(ORDERS[6]))
        elif self.path == "/metrics":
            text = (
                f"# TYPE shop_requests_total counter\nshop_requests_total {self.requests_served}\n"
            )
            self._reply(200, "text/plain; version=0.0.4", text)
        else:
            self._reply(404, "application/json", json.dumps({"error": "no such route"}))

    def _reply(self, status: int, content_type: str, body: str) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture(scope="module")
def shop() -> Iterator[str]:
    with serving(ThreadingHTTPServer(("127.0.0.1", 0), ShopHandler)) as url:
        yield url


@pytest.fixture(scope="module")
def locustfile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("user") / "shop_locustfile.py"
    path.write_text(SHOP_LOCUSTFILE, encoding="utf-8")
    return path


def loadcap(*args: str | Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LOADCAP), *map(str, args)], capture_output=True, text=True, timeout=timeout,
        check=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def shop_run(shop: str, locustfile: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "shop"
    result = loadcap(
        "run", "-f", locustfile, "--host", shop, "--shape", "step", "--users", "2",
        "--step-seconds", "3", "--duration", "6s", "--out", out,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def test_a_user_locustfile_gets_the_run_directory_hdr_windows_and_snapshots(
    shop_run: Path, locustfile: Path
) -> None:
    hdr = json.loads((shop_run / "hdr.json").read_text(encoding="utf-8"))["endpoints"]
    assert {"GET /v1/orders", "GET /v1/orders/{n}"} <= set(hdr)
    assert (shop_run / "windows.json").is_file()
    assert list((shop_run / "metrics").glob("*-start.prom"))
    record = json.loads((shop_run / "run.json").read_text(encoding="utf-8"))
    assert record["locustfile"] == str(locustfile) and record["mix"] is None
    assert [stage["users"] for stage in record["stages"]] == [2, 4]  # the step shape ran
    log = (shop_run / "locust.log").read_text(encoding="utf-8")
    assert "/api/profile" not in log  # nothing of the profiles workload leaked in


def test_report_plan_and_gate_work_on_it(shop_run: Path, tmp_path: Path) -> None:
    report = loadcap("report", shop_run)
    assert report.returncode == 0, report.stderr
    summary = json.loads((shop_run / "summary.json").read_text(encoding="utf-8"))
    assert {e["name"] for e in summary["endpoints"]} >= {"GET /v1/orders", "GET /v1/orders/{n}"}
    plan = loadcap("plan", "--from", shop_run, "--md")
    assert plan.returncode == 0, plan.stderr
    assert "instances" in plan.stdout.lower()
    gate = loadcap(
        "gate", shop_run, "--threshold", "GET /v1/orders:p95<5000", "--max-error-rate", "1%",
        "--baseline", shop_run, "--junit", tmp_path / "gate.xml",
    )  # fmt: skip
    assert gate.returncode == 0, gate.stdout + gate.stderr
    assert "GET /v1/orders: p95 < 5000 ms" in gate.stdout


def test_a_locustfile_without_the_plugin_is_refused_with_the_line_to_add(
    tmp_path: Path, shop: str
) -> None:
    plain = tmp_path / "plain.py"
    plain.write_text(SHOP_LOCUSTFILE.replace("import loadtests.plugin", "import os"))
    result = loadcap("run", "-f", plain, "--host", shop, "--duration", "2s")
    assert result.returncode == 2
    assert "import loadtests.plugin" in result.stderr and "Traceback" not in result.stderr


def test_the_web_ui_of_a_user_locustfile_has_the_capacity_tab(
    shop: str, locustfile: Path, tmp_path: Path
) -> None:
    port = free_port()
    command = [str(LOADCAP), "run", "-f", str(locustfile), "--host", shop, "--web"]
    command += ["--web-port", str(port), "--duration", "1m", "--out", str(tmp_path / "web")]
    with (tmp_path / "web.log").open("wb") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        wait_for_port(port, timeout=60)
        page = httpx.get(f"http://127.0.0.1:{port}/capacity", timeout=10)
        assert page.status_code == 200 and "Instances" in page.text
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=45)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
