"""The gate's noise model: identical runs pass although their whole-run figures differ by
more than the allowance; a real regression still fails; unlike loads are warned about."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from cli import app
from pipeline.runner import RunSettings, run_load_test
from reports.gate_noise import change_interval
from reports.summary import write_summary
from target_service.process import ServiceProcess
from tests.reports.gate_runs import totals, write_run

pytestmark = pytest.mark.servers  # starts the service, Locust or a browser

runner = CliRunner()
SECONDS = 20


def write_windows(run_dir: Path, p99: np.ndarray, rps: np.ndarray) -> None:
    windows = [
        {
            "start_s": float(i),
            "scopes": {
                "Aggregated": {
                    "requests": int(r),
                    "failures": 0,
                    "p50_ms": float(p / 4),
                    "p95_ms": float(p / 1.5),
                    "p99_ms": float(p),
                }
            },
        }
        for i, (p, r) in enumerate(zip(p99, rps, strict=True))
    ]
    (run_dir / "windows.json").write_text(json.dumps({"window_s": 1.0, "windows": windows}))


def _second(p99: float, rps: float) -> dict[str, float]:
    return {"requests": int(rps), "failures": 0, "p50_ms": p99 / 4, "p95_ms": p99 / 1.5,
            "p99_ms": float(p99)}  # fmt: skip


def noisy_run(directory: Path, *, p99: float, rps: float, seed: int, scale: float = 1.0) -> Path:
    rng = np.random.default_rng(seed)
    seconds_p99 = 60 * scale * rng.lognormal(0.0, 0.35, SECONDS)
    seconds_rps = 1000 / scale * rng.lognormal(0.0, 0.2, SECONDS)
    run_dir = write_run(
        directory,
        total=totals(requests=20_000, rps=rps, p50=15.0, p95=40.0, p99=p99),
        endpoints=[],
    )
    write_windows(run_dir, seconds_p99, seconds_rps)
    return run_dir


def gate(current: Path, baseline: Path, *extra: str) -> tuple[int, str, str]:
    result = runner.invoke(
        app,
        ["gate", str(current), "--baseline", str(baseline), "--max-regression", "15%", *extra],
        env={"GITHUB_STEP_SUMMARY": ""},
    )
    return result.exit_code, result.stdout, result.stderr


def test_noise_within_the_runs_wobble_is_not_a_regression(tmp_path: Path) -> None:
    # The figures: p99 +36.7%, rps -21.6% between two identical runs.
    baseline = noisy_run(tmp_path / "a", p99=58.0, rps=1000.0, seed=1)
    current = noisy_run(tmp_path / "b", p99=79.3, rps=784.0, seed=2)
    assert gate(current, baseline, "--point-comparison")[0] == 1  # what a point delta says
    code, out, _ = gate(current, baseline)
    assert code == 0, out
    assert "noise model: change of the typical second" in out


def test_a_real_regression_is_beyond_the_noise_and_fails(tmp_path: Path) -> None:
    baseline = noisy_run(tmp_path / "a", p99=58.0, rps=1000.0, seed=1)
    current = noisy_run(tmp_path / "b", p99=116.0, rps=500.0, seed=2, scale=2.0)
    code, out, _ = gate(current, baseline)
    assert code == 1
    assert "| ❌ | Total: p99 vs baseline" in out and "| ❌ | Total: rps vs baseline" in out


def test_the_interval_is_deterministic_and_brackets_the_change() -> None:
    rng = np.random.default_rng(0)
    before, after = rng.normal(100, 10, 30), rng.normal(150, 10, 30)
    first = change_interval(before, after, metric="p95")
    assert first == change_interval(before, after, metric="p95")
    assert first.low < first.point < first.high and first.low > 0.3


def test_a_constant_run_against_a_step_baseline_is_warned_about(tmp_path: Path) -> None:
    baseline = write_run(tmp_path / "a")
    current = write_run(tmp_path / "b")
    record = {"shape": None, "users": 20, "open_model": None}
    (current / "run.json").write_text(json.dumps(record))
    (baseline / "run.json").write_text(json.dumps({**record, "shape": "step", "users": 10}))
    _, out, err = gate(current, baseline)
    assert "⚠️ warning: this run is constant load with 20 users but the baseline is step " in out
    assert "warning: this run is constant load" in err


def identical_pair(directory: Path) -> tuple[Path, Path]:
    """Two identical runs (closed model, 20 users, 20 s), each against a freshly seeded service,
    as two CI jobs would be: a baseline and a run of the same code from the same state."""
    runs = []
    for name in ("first", "second"):
        with ServiceProcess(profiles=10_000) as service:
            settings = RunSettings(
                out_dir=directory / name, host=service.base_url, users=20, duration_s=20
            )
            outcome = run_load_test(settings)
        assert outcome.exit_code == 0, outcome.message
        write_summary(settings.out_dir)
        runs.append(settings.out_dir)
    return runs[0], runs[1]


@pytest.mark.timeout(420)
def test_two_identical_back_to_back_runs_pass_at_15_percent(tmp_path: Path) -> None:
    # A false alarm rate, not a certainty: scripts/gate_false_alarms.py measured 1 pair in 10
    # (docs/ci.md; the point comparison 3 in 10), from a second run that met a slower machine
    # for its whole length, which no model of one pair can tell from slower code. So a second
    # pair is run when the first alarms, and the test fails when both do (about 1 in 100 at
    # that rate; a model that alarms on most identical pairs still fails it).
    verdicts = []
    for attempt in ("a", "b"):
        baseline, current = identical_pair(tmp_path / attempt)
        # Closed-model runs on one machine saturate Locust before the service: the throughput
        # they compare is Locust's, which the gate refuses unless told. This is about noise.
        code, out, _ = gate(current, baseline, "--allow-saturated-generator")
        verdicts.append(out)
        if code == 0:
            return
    pytest.fail("both identical pairs failed the gate:\n" + "\n".join(verdicts))


def test_an_unusable_windows_file_is_named_not_silently_ignored(tmp_path: Path) -> None:
    baseline = noisy_run(tmp_path / "a", p99=58.0, rps=1000.0, seed=1)
    current = noisy_run(tmp_path / "b", p99=60.0, rps=990.0, seed=2)
    (current / "windows.json").write_text(json.dumps({"window_s": 1.0, "windows": [{}]}))
    code, _, err = gate(current, baseline)
    assert code == 2
    assert "windows.json" in err and "start_s" in err
