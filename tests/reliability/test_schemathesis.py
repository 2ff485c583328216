"""Schemathesis with every check against a real uvicorn: at least 1,000 generated cases, no
5xx, no answer the OpenAPI document does not describe (status, headers, body, Allow lists,
positive data refused or negative data accepted)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from target_service.process import ServiceProcess
from target_service.settings import Settings

pytestmark = pytest.mark.servers  # starts the service, Locust or a browser

MIN_CASES = 1_000
MAX_EXAMPLES = 250  # per operation and phase: six operations give 1,300+ cases


def _schemathesis() -> str:
    found = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.fail("schemathesis is not installed: pip install -e '.[dev]'")
    return found


@pytest.fixture(params=["sqlite", "mariadb_redis"])
def service(request: pytest.FixtureRequest) -> Iterator[ServiceProcess]:
    if request.param == "sqlite":
        with ServiceProcess(profiles=50) as running:
            yield running
        return
    mariadb = request.getfixturevalue("mariadb_db")
    redis = request.getfixturevalue("redis_clean")
    settings = Settings(db_url=mariadb.url, redis_url=redis.url, rate_limit=None)
    with ServiceProcess(settings, profiles=50) as running:
        yield running


@pytest.mark.timeout(240)
def test_schemathesis_all_checks_find_nothing(service: ServiceProcess, tmp_path: Path) -> None:
    report_path = tmp_path / "schemathesis.json"
    command = [
        _schemathesis(), "run", f"{service.base_url}/openapi.json",
        "--checks", "all", "--max-examples", str(MAX_EXAMPLES), "--seed", "12",
        "--workers", "1", "--no-color", "--generation-database", "none",
        "--request-timeout", "10",
        "--report", "json", "--report-json-path", str(report_path),
    ]  # fmt: skip
    # In tmp_path: schemathesis keeps a .schemathesis/ cache in its working directory.
    done = subprocess.run(command, capture_output=True, text=True, timeout=200, cwd=tmp_path)
    output = done.stdout[-8000:] + done.stderr[-2000:]
    report = json.loads(report_path.read_text())
    cases = report["test_cases"]
    figures = (
        f"schemathesis on {service.settings.db_url.split(':')[0]}: {cases['generated']} cases, "
        f"{cases['with_failures']} with failures, {len(report['failures'])} unique failures, "
        f"{len(report['errors'])} errors, {report['running_time']:.1f} s"
    )
    print(figures)
    assert done.returncode == 0, f"{figures}\n{output}"
    assert report["failures"] == [] and report["errors"] == [], f"{figures}\n{output}"
    assert cases["generated"] >= MIN_CASES, f"{figures}\n{output}"
    assert "No issues found" in done.stdout, output
