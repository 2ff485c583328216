"""`loadcap run` then `loadcap gate` on what it wrote: the CI use, end to end, as subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from junitparser import Failure, JUnitXml

pytestmark = pytest.mark.servers  # starts the service, Locust or a browser

LOADCAP = str(Path(sys.executable).parent / "loadcap")


def loadcap(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    # Under GitHub Actions the step summary is real: these runs must not write to it.
    env = {key: value for key, value in os.environ.items() if key != "GITHUB_STEP_SUMMARY"}
    return subprocess.run(
        [LOADCAP, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        env=env,
        cwd=cwd,
    )


@pytest.fixture(scope="module")
def measured_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A short real run against the embedded service: a few seconds at a fixed arrival rate
    (a closed-model run here measures Locust, and the gate refuses its throughput)."""
    workdir = tmp_path_factory.mktemp("gate-e2e")
    run_dir = workdir / "run"
    args: list[str | Path] = [
        "run",
        "--duration",
        "4s",
        "--rps",
        "100",
        "--out",
        run_dir,
    ]
    result = loadcap(*args, cwd=workdir)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (run_dir / "summary.json").is_file(), result.stdout + result.stderr
    return run_dir


def test_generous_thresholds_pass_on_a_real_run(measured_run: Path, tmp_path: Path) -> None:
    junit = tmp_path / "gate.xml"
    result = loadcap(
        "gate", measured_run,
        "--p95-ms", "2000", "--p99-ms", "5000", "--max-error-rate", "5%", "--min-rps", "1",
        "--threshold", "GET /api/profiles:p95<2000",
        "--junit", junit,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "✅ passed (6 checks)" in result.stdout
    assert sum(1 for suite in JUnitXml.fromfile(str(junit)) for _ in suite) == 6


def test_impossible_threshold_fails_a_real_run_with_exit_1(measured_run: Path) -> None:
    result = loadcap("gate", measured_run, "--p95-ms", "0.001")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "| ❌ | Total: p95 <= 0.001 ms |" in result.stdout
    assert "gate failed: 1 of 2 checks" in result.stderr


def test_a_run_gated_against_itself_as_baseline_passes(measured_run: Path, tmp_path: Path) -> None:
    junit = tmp_path / "gate.xml"
    result = loadcap("gate", measured_run, "--baseline", measured_run, "--junit", junit)
    assert result.returncode == 0, result.stdout + result.stderr
    cases = [case for suite in JUnitXml.fromfile(str(junit)) for case in suite]
    assert not [case for case in cases if any(isinstance(r, Failure) for r in case.result)]
    assert any(case.classname == "loadcap.gate.baseline" for case in cases)


def test_gate_reports_which_percentiles_a_real_run_has(measured_run: Path) -> None:
    result = loadcap("gate", measured_run, "--p95-ms", "2000")
    has_hdr = (measured_run / "hdr.json").is_file()
    expected = "exact, from HDR histograms" if has_hdr else "Locust's (bucketed"
    assert expected in result.stdout
