"""The gate's noise model: is a change against the baseline bigger than the run's own wobble?

Two runs of the same code on a shared machine never match: whole-run p99s of identical runs
differ by a third, throughput by a fifth. A point comparison (`+35% > 15%`) calls that a
regression. Instead each run is treated as a series of repeats, its one-second windows
(`windows.json`, loadtests/windows.py): per window, the throughput and the p50/p95/p99.
A moving-block bootstrap of both series (blocks keep neighbouring seconds together, since a
busy machine slows several seconds at once) gives a confidence interval for the relative
change of the typical window (mean throughput, median percentile). A machine also drifts over
a run's length, and a back-to-back run may sit anywhere on that drift, so the allowance is
widened by how far either run's level wandered (its best third against its worst; for an
endpoint at least the totals' wander, since a busy machine slows everything at once). A
check fails only when the whole interval lies past that: the run is worse by more than the
allowance *beyond what its noise explains*. Runs with too few windows fall back to the point
comparison (their note shows no interval).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from reports.load import load_document
from rundir.document import DocumentError
from rundir.run_json import RUN_FILE, read_run_record
from rundir.windows_json import TOTAL_SCOPES as TOTAL_KEYS
from rundir.windows_json import WINDOWS_FILE, WindowFacts, read_windows

MIN_WINDOWS = 4  # per run, after dropping the first (ramp-up) and last (partial) second
MIN_WINDOW_REQUESTS = 5  # a window's percentile needs a few samples to mean anything
CONFIDENCE = 0.99  # about 20 noise-modelled checks a gate: each must rarely misfire
RESAMPLES = 2000
BLOCK = 3  # seconds per bootstrap block: a busy machine slows neighbouring seconds together

Samples = npt.NDArray[np.float64]


@dataclass(frozen=True)
class WindowSeries:
    """A run's per-second samples, by scope (endpoint key, or "Total") and metric."""

    window_s: float
    scopes: dict[str, dict[str, Samples]]

    def samples(self, scope: str, metric: str) -> Samples | None:
        values = self.scopes.get(scope, {}).get(metric)
        return values if values is not None and len(values) >= MIN_WINDOWS else None


@dataclass(frozen=True)
class Interval:
    """Relative change of the typical window, current vs baseline (+0.1 = 10% higher)."""

    point: float
    low: float
    high: float
    windows: tuple[int, int]  # (baseline, current) windows used
    drift: float = 0.0  # how far either run's level wandered (best third vs worst)

    def describe(self) -> str:
        return (
            f"noise model: change of the typical second {self.point:+.1%}, "
            f"{CONFIDENCE * 100:g}% CI {self.low:+.1%}…{self.high:+.1%}, within-run drift "
            f"{self.drift:.1%} ({self.windows[0]} vs {self.windows[1]} one-second windows)"
        )


def load_windows(run_dir: Path) -> WindowSeries | None:
    """The run's windows, trimmed of the ramp-up and the partial last second; None when the
    run has none (a plain Locust run); `ReportInputError` naming the field when unusable."""
    document = load_document(run_dir / WINDOWS_FILE, read_windows)
    if document is None:
        return None
    window_s = document.window_s
    columns: dict[str, dict[str, list[float]]] = {}
    for window in document.windows[1:-1]:
        for key, facts in window.scopes.items():
            scope = "Total" if key in TOTAL_KEYS else key
            column = columns.setdefault(scope, {"rps": []})
            column["rps"].append(facts.requests / window_s)
            if facts.requests >= MIN_WINDOW_REQUESTS:
                for metric, value in _percentiles(facts):
                    column.setdefault(metric, []).append(value)
    scopes = {
        scope: {metric: np.asarray(values, dtype=float) for metric, values in metrics.items()}
        for scope, metrics in columns.items()
    }
    return WindowSeries(window_s, scopes)


def _percentiles(facts: WindowFacts) -> list[tuple[str, float]]:
    values = {"p50": facts.p50_ms, "p95": facts.p95_ms, "p99": facts.p99_ms}
    return [(metric, value) for metric, value in values.items() if value is not None]


def change_interval(before: Samples, after: Samples, *, metric: str, seed: int = 0) -> Interval:
    """Bootstrap CI of the relative change; deterministic (a gate must not flip on a rerun)."""
    statistic = _mean if metric == "rps" else _median
    rng = np.random.default_rng(seed)
    base = statistic(_block_resample(before, rng))
    current = statistic(_block_resample(after, rng))
    valid = base > 0
    ratios = current[valid] / base[valid] - 1.0
    tail = (1.0 - CONFIDENCE) / 2
    low, high = (float(q) for q in np.quantile(ratios, [tail, 1.0 - tail]))
    point_base = float(statistic(before[None, :])[0])
    point = float(statistic(after[None, :])[0]) / point_base - 1.0 if point_base else 0.0
    drift = max(_drift(before, statistic), _drift(after, statistic))
    return Interval(point, low, high, (len(before), len(after)), drift)


def with_machine_drift(
    interval: Interval, before: WindowSeries, after: WindowSeries, metric: str
) -> Interval:
    """A busy machine drifts every endpoint at once; the totals, with the most samples per
    second, show it best. An endpoint's margin is at least the totals' drift."""
    statistic = _mean if metric == "rps" else _median
    drifts = [
        _drift(values, statistic)
        for series in (before, after)
        if (values := series.samples("Total", metric)) is not None
    ]
    return replace(interval, drift=max([interval.drift, *drifts]))


def _drift(values: Samples, statistic: Any) -> float:
    """How far one run's level wandered: the typical second of its best third against its
    worst (halves for short runs). A back-to-back run may land anywhere on that wander, so
    it widens the margin: repeats a run apart, estimated from the run itself."""
    parts = 3 if len(values) >= 6 else 2
    levels = [float(statistic(chunk[None, :])[0]) for chunk in np.array_split(values, parts)]
    low = min(levels)
    return max(levels) / low - 1.0 if low > 0 else 0.0


def regressed_beyond_noise(interval: Interval, allowance: float, *, higher_is_better: bool) -> bool:
    """The whole interval is past the allowance widened by the within-run drift."""
    margin = allowance + interval.drift
    if higher_is_better:
        return interval.high < -margin
    return interval.low > margin


def _block_resample(values: Samples, rng: np.random.Generator) -> Samples:
    n = len(values)
    block = min(BLOCK, n)
    blocks = -(-n // block)
    starts = rng.integers(0, n - block + 1, size=(RESAMPLES, blocks))
    index = (starts[:, :, None] + np.arange(block)).reshape(RESAMPLES, -1)[:, :n]
    return np.asarray(values[index], dtype=float)


def _mean(matrix: Samples) -> Samples:
    return np.asarray(matrix.mean(axis=1), dtype=float)


def _median(matrix: Samples) -> Samples:
    return np.asarray(np.median(matrix, axis=1), dtype=float)


# --- like with like --------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadShape:
    """What load a run was asked for."""

    shape: str  # "constant" for a run without a shape
    users: int | None
    rps: float | None  # the open model's target

    def describe(self) -> str:
        if self.rps:
            return f"an open model at {self.rps:g} req/s"
        per = " per step" if self.shape == "step" else ""
        return f"{self.shape} load with {self.users} users{per}"


def load_shape(run_dir: Path) -> LoadShape | None:
    """What load a run was asked for, from run.json; None for a plain Locust run."""
    try:
        record = read_run_record(run_dir / RUN_FILE)
    except DocumentError:
        return None
    rps = record.open_model.target_rps if record.open_model is not None else None
    return LoadShape(shape=record.shape or "constant", users=record.users, rps=rps)


def load_warnings(run_dir: Path, baseline_dir: Path) -> list[str]:
    """A run compared with a baseline under another load says little about regressions."""
    current, baseline = load_shape(run_dir), load_shape(baseline_dir)
    if current is None or baseline is None:
        return []
    if current == baseline:
        return []
    return [
        f"this run is {current.describe()} but the baseline is {baseline.describe()}: "
        "throughput and latency follow the load, so compare runs made with the same "
        "shape, users and rate"
    ]
