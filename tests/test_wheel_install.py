"""What a user gets from `pip install`: the wheel, in a fresh venv, run from an empty directory.

No checkout on the path: the package data (the locustfile, the Capacity tab's page, the price
file, any template) must ship in the wheel, and the dependencies in pyproject.toml must be
enough. The venv is built once per session with `-c constraints.txt` (pip's cache makes that
quick after the first time); the commands then run for a few seconds each.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.fixtures.ports import free_port, wait_for_port

pytestmark = [pytest.mark.servers, pytest.mark.timeout(600)]

ROOT = Path(__file__).parents[1]
PACKAGES = ("target_service", "loadtests", "reports", "capacity", "pipeline", "rundir", "cli")
SOURCE_FILES = ("pyproject.toml", "README.md", "LICENSE")


@dataclass(frozen=True)
class Installed:
    wheel: Path
    bin: Path  # the venv's bin directory
    home: Path  # an empty directory, the commands' working directory


def _build_wheel(into: Path) -> Path:
    """Build from a copy of the sources, so the checkout gets no build/ or egg-info."""
    source = into / "source"
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    for name in SOURCE_FILES:
        shutil.copy2(ROOT / name, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(into / "dist"), str(source)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (wheel,) = (into / "dist").glob("loadcap-*.whl")
    return wheel


def _env() -> dict[str, str]:
    skipped = ("PYTHON", "VIRTUAL_ENV", "LOADCAP_")  # nothing from the checkout or its settings
    env = {k: v for k, v in os.environ.items() if not k.startswith(skipped)}
    return env | {"NO_COLOR": "1"}


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    work = tmp_path_factory.mktemp("wheel")
    wheel = _build_wheel(work)
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    result = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q",
         "-c", str(ROOT / "constraints.txt"), str(wheel)],
        capture_output=True, text=True, timeout=600, env=_env(), check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    home = work / "home"
    home.mkdir()
    return Installed(wheel=wheel, bin=venv / "bin", home=home)


def run(installed: Installed, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(installed.bin / args[0]), *args[1:]],
        cwd=installed.home, env=_env(), capture_output=True, text=True, timeout=timeout,
        check=False,
    )  # fmt: skip


def test_every_data_file_of_the_packages_ships_in_the_wheel(installed: Installed) -> None:
    in_source = {
        path.relative_to(ROOT).as_posix()
        for package in PACKAGES
        for path in (ROOT / package).rglob("*")
        if path.is_file() and path.suffix not in (".py", ".pyc", ".md")
    }
    assert {"loadtests/capacity_tab.html", "capacity/aws_prices.json"} <= in_source
    in_wheel = set(zipfile.ZipFile(installed.wheel).namelist())
    assert sorted(in_source - in_wheel) == []
    assert "loadtests/locustfile.py" in in_wheel


def test_the_installed_package_is_the_wheel_not_the_checkout(installed: Installed) -> None:
    result = run(installed, "python", "-c", "import loadtests; print(loadtests.__file__)")
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()).is_relative_to(installed.bin.parent)
    located = run(installed, "loadcap", "locustfile")
    assert located.returncode == 0, located.stderr
    locustfile = Path(located.stdout.strip())
    assert locustfile.is_relative_to(installed.bin.parent) and locustfile.is_file()


def test_plan_from_a_measured_figure(installed: Installed) -> None:
    result = run(installed, "loadcap", "plan", "--per-instance-rps", "100")
    assert result.returncode == 0, result.stderr
    assert "$" in result.stdout  # priced from the price file inside the wheel


def test_demo_measures_reports_and_plans_in_an_empty_directory(installed: Installed) -> None:
    out = installed.home / "demo-run"
    result = run(
        installed, "loadcap", "demo", "--duration", "10s", "--profiles", "300",
        "--out", str(out), timeout=240,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    for name in ("run.json", "summary.json", "report.html", "report.md"):
        assert (out / name).is_file(), name


@pytest.fixture
def served(installed: Installed) -> Iterator[str]:
    port = free_port()
    log = (installed.home / "serve.log").open("w")
    service = subprocess.Popen(
        [str(installed.bin / "loadcap"), "serve", "--port", str(port),
         "--db", f"sqlite:///{installed.home / 'serve.db'}", "--seed-profiles", "200",
         "--rate-limit", "off"],
        cwd=installed.home, env=_env(), stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait_for_port(port, timeout=60)
        yield f"http://127.0.0.1:{port}"
    finally:
        service.terminate()
        try:
            service.wait(timeout=20)
        except subprocess.TimeoutExpired:
            service.kill()
            service.wait()
        log.close()


def test_locust_runs_the_installed_locustfile_headless(installed: Installed, served: str) -> None:
    assert httpx.get(f"{served}/health", timeout=5).status_code == 200
    locustfile = run(installed, "loadcap", "locustfile").stdout.strip()
    result = run(
        installed, "locust", "-f", locustfile, "--headless", "--host", served,
        "-u", "4", "-r", "4", "--run-time", "4s", "--csv", "short", "--only-summary",
        timeout=90,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    stats = (installed.home / "short_stats.csv").read_text().splitlines()
    aggregated = next(line for line in stats if ",Aggregated," in line)
    assert int(aggregated.split(",")[2]) > 0  # requests were sent and answered
