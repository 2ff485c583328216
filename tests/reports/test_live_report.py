"""End to end on a live short run: `loadcap run` against the embedded service, then
`loadcap report` on what it wrote. Bounded: 3 s of load from 3 users, to 127.0.0.1."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from target_service.process import ServiceProcess
from tests.reports.recorded import aggregated_row

pytestmark = pytest.mark.servers  # starts the service, Locust or a browser

ROOT = Path(__file__).resolve().parents[2]
EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)


def test_a_live_run_reports_with_totals_equal_to_its_csv(
    embedded_service: ServiceProcess, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    loadcap = [sys.executable, "-c", "from cli import main; main()"]
    subprocess.run(
        [
            *loadcap,
            "run",
            "--host",
            embedded_service.base_url,
            "--users",
            "3",
            "--spawn-rate",
            "3",
            "--duration",
            "3s",
            "--out",
            str(run_dir),
        ],
        cwd=ROOT,
        check=True,
        timeout=90,
        capture_output=True,
    )

    result = CliRunner().invoke(app, ["report", str(run_dir)])

    assert result.exit_code == 0, result.output
    totals = json.loads((run_dir / "summary.json").read_text())["totals"]
    assert totals["requests"] == int(aggregated_row(run_dir)["Request Count"]) > 0
    page = (run_dir / "report.html").read_text()
    assert not EXTERNAL.search(page)
    assert 'alt="Pool"' in page
    assert 'alt="Cache"' in page  # the embedded service exposes /metrics
    assert (run_dir / "report.md").read_text().startswith("# loadcap report: run")
