"""The load generator's CPU from `generator.csv` (one row per Locust process per second).

Each row holds a process's cumulative CPU seconds; the share of a core a process used over an
interval is ΔCPU / Δt. A Locust process is one core at most, so the busiest process is the one
that decides whether the generator, not the service, set the pace.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from reports.errors import ReportInputError
from rundir.generator_csv import COLUMNS, GENERATOR_FILE, MACHINE


def load_generator(run_dir: Path) -> pd.DataFrame | None:
    """The samples (timestamp, process, cpu_s), or None when the run did not record them."""
    path = run_dir / GENERATOR_FILE
    if not path.is_file():
        return None
    try:
        frame = pd.read_csv(path, dtype={"process": str})
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError):
        raise ReportInputError(f"{path}: empty or not a CSV") from None
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise ReportInputError(f"{path}: missing column(s) {', '.join(missing)}")
    for column in ("timestamp", "cpu_s"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    if frame[list(COLUMNS)].isna().any().any():
        raise ReportInputError(f"{path}: a row with a missing or non-numeric value")
    return frame.sort_values("timestamp", kind="stable").reset_index(drop=True)


def process_cpu(frame: pd.DataFrame, start_s: float, end_s: float) -> dict[str, float]:
    """Share of a core each process used over [start_s, end_s] (run-clock `elapsed_s`),
    between the samples that bracket the interval: a stage shorter than two sampling
    intervals is still measured."""
    shares: dict[str, float] = {}
    for process, rows in frame.groupby("process", sort=True):
        times = rows["elapsed_s"]
        before, after = rows[times <= start_s], rows[times >= end_s]
        first = before.iloc[-1] if not before.empty else rows.iloc[0]
        last = after.iloc[0] if not after.empty else rows.iloc[-1]
        seconds = float(last["elapsed_s"] - first["elapsed_s"])
        used = float(last["cpu_s"] - first["cpu_s"])
        if seconds > 0 and used >= 0:
            shares[str(process)] = used / seconds
    return shares


def busiest_share(frame: pd.DataFrame | None, start_s: float, end_s: float) -> float | None:
    """The busiest Locust process's share of a core over the interval; None without samples."""
    if frame is None or frame.empty:
        return None
    shares = process_cpu(frame, start_s, end_s)
    shares.pop(MACHINE, None)
    return max(shares.values()) if shares else None


def generator_and_machine(
    frame: pd.DataFrame | None, start_s: float, end_s: float
) -> tuple[float | None, float | None]:
    """(cores all Locust processes used, cores the whole machine was busy) over the interval."""
    if frame is None or frame.empty:
        return None, None
    shares = process_cpu(frame, start_s, end_s)
    machine = shares.pop(MACHINE, None)
    return (sum(shares.values()) if shares else None), machine


def cpu_over_time(frame: pd.DataFrame) -> pd.DataFrame:
    """Share of a core per process over each sampling interval, indexed by `elapsed_s`."""
    table = frame.pivot_table(index="elapsed_s", columns="process", values="cpu_s", aggfunc="last")
    table.columns.name = None
    table = table.sort_index()
    seconds = pd.Series(table.index, index=table.index)
    # Processes sample at their own instants: each column's rate over its own samples.
    shares = {}
    for column in [c for c in table.columns if c != MACHINE]:
        samples = table[column].dropna()
        times = seconds.loc[samples.index]
        shares[column] = (samples.diff() / times.diff()).iloc[1:]
    return pd.DataFrame(shares).sort_index()
