"""Requests per stage from the run's one-second windows (windows.json), on the run's clock.

Locust's stats history is exact for one process and wrong for several: the master writes each
worker's counts when its report arrives, every 3 s, so a stage's second half can hold one
batch more or less than it sent (a 15 s run at 20 users with `--processes 2` read 7,163
req/s from the history; its windows, which sum to the run's requests, said ~5,600). Windows
count every request in the second it completed, whichever process sent it, so stage
throughput, error rate, the requests behind the service demand and the report's throughput
chart come from them; the history remains the fallback for run directories recorded
without windows.json.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from reports.locust_csv import AGGREGATED
from rundir.windows_json import TOTAL_SCOPES, Window, WindowsDocument

WINDOWS = "windows"
HISTORY = "history"
# Where a stage's throughput came from, for the report's note.
SOURCES = {
    WINDOWS: "per-second windows (windows.json), exact for any number of Locust processes",
    HISTORY: (
        "Locust's stats history (no windows.json in this run): with several Locust processes "
        "workers' counts arrive in batches every 3 s, so a stage's figure can be off by a "
        "quarter or more"
    ),
}
_EDGE = 0.1  # s: the windows' clock starts a few ms after the run's (both at test_start)


@dataclass(frozen=True)
class Counted:
    """Requests and failures completed over `seconds`."""

    requests: int
    failures: int
    seconds: float
    source: str = WINDOWS  # or HISTORY: Locust's stats history, for runs without windows

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


def per_second(document: WindowsDocument, run_start: float | None) -> pd.DataFrame:
    """One row per window from the first to the last (a second without a completed request
    is a row of zeros): `start_s` and `end_s` on the run's clock (seconds since run.json's
    `started_at`), `requests` and `failures` of all endpoints, `complete` (false for the last
    window, which the stop cut short), and one column of requests per endpoint key."""
    offset = 0.0
    if document.started_at is not None and run_start is not None:
        offset = document.started_at - run_start
    step = document.window_s
    by_slot = {round(w.start_s / step): w for w in document.windows}
    slots = range(min(by_slot, default=0), max(by_slot, default=-1) + 1)
    empty = Window(start_s=0.0)
    rows = [by_slot.get(slot, empty) for slot in slots]
    starts = np.array([slot * step + offset for slot in slots], dtype=float)
    columns: dict[str, Any] = {
        "start_s": starts,
        "end_s": starts + step,
        "requests": [w.total.requests for w in rows],
        "failures": [w.total.failures for w in rows],
        "complete": [slot != slots[-1] for slot in slots],
    }
    endpoints = sorted({key for w in rows for key in w.scopes} - set(TOTAL_SCOPES))
    for key in endpoints:
        columns[key] = [w.scopes[key].requests if key in w.scopes else 0 for w in rows]
    return pd.DataFrame(columns)


def throughput(windows: pd.DataFrame, *, max_points: int | None = None) -> pd.DataFrame:
    """Requests per second of each endpoint and `Aggregated`, indexed by the end of each
    complete window (as metrics.throughput is by history row); a long run is read in
    consecutive groups of windows, at most `max_points` of them."""
    complete = windows[windows["complete"]]
    if complete.empty:
        return pd.DataFrame()
    counts = complete.drop(columns=["start_s", "end_s", "failures", "complete"])
    counts = counts.rename(columns={"requests": AGGREGATED})
    seconds = (complete["end_s"] - complete["start_s"]).to_numpy(float)
    size = -(-len(complete) // max_points) if max_points else 1
    groups = np.arange(len(complete)) // size
    summed = counts.groupby(groups).sum()
    rates = summed.div(pd.Series(seconds).groupby(groups).sum().to_numpy(), axis=0)
    rates.index = pd.Index(complete["end_s"].groupby(groups).max().to_numpy(), name="elapsed_s")
    return rates


def whole_windows(windows: pd.DataFrame, start_s: float, end_s: float) -> Counted | None:
    """The complete windows that lie inside [start_s, end_s]; None when there is none."""
    inside = windows[
        windows["complete"]
        & (windows["start_s"] >= start_s - _EDGE)
        & (windows["end_s"] <= end_s + _EDGE)
    ]
    if inside.empty:
        return None
    seconds = float((inside["end_s"] - inside["start_s"]).sum())
    return Counted(int(inside["requests"].sum()), int(inside["failures"].sum()), seconds)


def completed_between(windows: pd.DataFrame, first_s: float, last_s: float) -> float | None:
    """Requests completed between two instants, a window cut by either counted pro rata
    (requests spread evenly over their second); none completed outside the windows."""
    if windows.empty or last_s <= first_s:
        return None
    starts = windows["start_s"].to_numpy(float)
    ends = windows["end_s"].to_numpy(float)
    overlap = np.clip(np.minimum(ends, last_s) - np.maximum(starts, first_s), 0.0, None)
    return float((windows["requests"].to_numpy(float) * overlap / (ends - starts)).sum())
