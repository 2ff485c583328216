"""Load a run directory (see docs/run-directory.md) into frames and its typed documents.

Everything downstream (summary, charts, reports, comparison) works on `RunData`, never on
the files, so the file layout is known in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import pandas as pd

from reports import locust_csv as lc
from reports.errors import ReportInputError
from reports.generator import load_generator
from reports.prom import load_snapshots
from reports.windows import per_second
from rundir.document import DocumentError
from rundir.hdr_json import HDR_FILE, HdrDocument, read_hdr
from rundir.run_json import RUN_FILE, RunRecord, read_run_record
from rundir.windows_json import WINDOWS_FILE, read_windows

_T = TypeVar("_T")

STATS_FILE = "locust_stats.csv"
HISTORY_FILE = "locust_stats_history.csv"
FAILURES_FILE = "locust_failures.csv"
EXCEPTIONS_FILE = "locust_exceptions.csv"
METRICS_DIR = "metrics"
# Locust's own console output, when the runner kept it: its CPU warnings live there.
LOG_FILES = ("locust.log",)


@dataclass(frozen=True)
class RunData:
    """One run directory, read and checked."""

    run_dir: Path
    stats: pd.DataFrame
    history: pd.DataFrame | None
    failures: pd.DataFrame
    exceptions: pd.DataFrame
    hdr: HdrDocument | None  # hdr.json
    run: RunRecord | None  # run.json
    snapshots: pd.DataFrame | None
    log_lines: list[str] = field(default_factory=list)
    generator: pd.DataFrame | None = None  # generator.csv: each Locust process's CPU
    windows: pd.DataFrame | None = None  # windows.json: requests per second (reports.windows)

    @property
    def aggregated(self) -> pd.Series:
        return self.stats[self.stats["endpoint"] == lc.AGGREGATED].iloc[0]

    @property
    def endpoints(self) -> pd.DataFrame:
        return self.stats[self.stats["endpoint"] != lc.AGGREGATED]


def endpoint_key(method: str, name: str) -> str:
    """hdr.json's key for an endpoint: Locust's Type + Name ("GET /api/profile/{id}")."""
    if name == lc.AGGREGATED:
        return lc.AGGREGATED
    return f"{method} {name}".strip()


def _with_endpoint(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    methods = frame["method"] if "method" in frame.columns else pd.Series("", index=frame.index)
    frame["endpoint"] = [endpoint_key(m, n) for m, n in zip(methods, frame["name"], strict=True)]
    return frame


def load_stats(run_dir: Path) -> pd.DataFrame:
    """locust_stats.csv: one row per endpoint plus the Aggregated row."""
    path = run_dir / STATS_FILE
    stats = _with_endpoint(lc.read_locust_csv(path, lc.STATS_COLUMNS, lc.STATS_REQUIRED))
    if (stats["endpoint"] == lc.AGGREGATED).sum() != 1:
        raise ReportInputError(f"{path}: no Aggregated row (truncated?)")
    if int(stats.loc[stats["endpoint"] == lc.AGGREGATED, "requests"].iloc[0]) == 0:
        raise ReportInputError(f"{path}: the run made no requests (empty run)")
    return stats


def load_history(run_dir: Path) -> pd.DataFrame:
    """locust_stats_history.csv: one row per endpoint per second."""
    path = run_dir / HISTORY_FILE
    history = _with_endpoint(lc.read_locust_csv(path, lc.HISTORY_COLUMNS, lc.HISTORY_REQUIRED))
    if history.empty:
        raise ReportInputError(f"{path}: no rows (truncated?)")
    return history


def _load_optional_csv(path: Path, aliases: lc.Aliases, required: tuple[str, ...]) -> pd.DataFrame:
    if not path.exists():
        return pd.DataFrame(columns=list(required))
    return lc.read_locust_csv(path, aliases, required)


def load_document(path: Path, read: Callable[[Path], _T]) -> _T | None:
    """An optional document of the run directory: None when absent, `ReportInputError`
    (naming the file and the field) when it cannot be used."""
    if not path.exists():
        return None
    try:
        return read(path)
    except DocumentError as exc:
        raise ReportInputError(str(exc)) from None


def _log_lines(run_dir: Path) -> list[str]:
    lines: list[str] = []
    for name in LOG_FILES:
        path = run_dir / name
        if path.is_file():
            lines += path.read_text(encoding="utf-8", errors="replace").splitlines()
    return lines


def run_start(run: RunRecord | None, history: pd.DataFrame | None) -> float | None:
    """Unix time the run started: run.json's `started_at`, else the first history row."""
    started_at = run.started_at if run is not None else None
    if started_at is not None:
        try:
            moment = datetime.fromisoformat(started_at.replace("Z", "+00:00"))
        except ValueError:
            raise ReportInputError(
                f"run.json: started_at is not ISO 8601: {started_at!r}"
            ) from None
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
    return float(history["timestamp"].min()) if history is not None else None


def _on_run_clock(frame: pd.DataFrame | None, start: float | None) -> pd.DataFrame | None:
    """Put `elapsed_s` on one clock (seconds since the run started) for every time series."""
    if frame is None or start is None:
        return frame
    return frame.assign(elapsed_s=frame["timestamp"] - start)


def load_run_data(run_dir: Path, *, with_history: bool = True) -> RunData:
    """Read a run directory; `ReportInputError` (one line) when it cannot be used."""
    if not run_dir.is_dir():
        raise ReportInputError(f"{run_dir}: not a directory")
    stats = load_stats(run_dir)
    history = load_history(run_dir) if with_history else None
    run = load_document(run_dir / RUN_FILE, read_run_record)
    start = run_start(run, history)
    windows = load_document(run_dir / WINDOWS_FILE, read_windows)
    return RunData(
        run_dir=run_dir,
        stats=stats,
        history=_on_run_clock(history, start),
        failures=_load_optional_csv(
            run_dir / FAILURES_FILE, lc.FAILURES_COLUMNS, lc.FAILURES_REQUIRED
        ),
        exceptions=_load_optional_csv(
            run_dir / EXCEPTIONS_FILE, lc.EXCEPTIONS_COLUMNS, lc.EXCEPTIONS_REQUIRED
        ),
        hdr=load_document(run_dir / HDR_FILE, read_hdr),
        run=run,
        snapshots=_on_run_clock(load_snapshots(run_dir / METRICS_DIR), start),
        log_lines=_log_lines(run_dir),
        generator=_on_run_clock(load_generator(run_dir), start),
        windows=per_second(windows, start) if windows is not None else None,
    )
