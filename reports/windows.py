"""Requests per stage from the run's one-second windows (windows.json), on the run's clock.

Locust's stats history is exact for one process and wrong for several: the master writes each
worker's counts when its report arrives, every 3 s, so a stage's second half can hold one
batch more or less than it sent (a 15 s run at 20 users with `--processes 2` read 7,163
req/s from the history; its windows, which sum to the run's requests, said ~5,600). Windows
count every request in the second it completed, whichever process sent it, so stage
throughput, error rate and the requests behind the service demand come from them; the
history remains the fallback for run directories recorded without windows.json.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from rundir.windows_json import WindowFacts, WindowsDocument

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
    `started_at`), `requests`, `failures`, and `complete` (false for the last window, which
    the stop cut short)."""
    offset = 0.0
    if document.started_at is not None and run_start is not None:
        offset = document.started_at - run_start
    step = document.window_s
    counts = {round(w.start_s / step): w.total for w in document.windows}
    slots = range(min(counts, default=0), max(counts, default=-1) + 1)
    starts = np.array([slot * step + offset for slot in slots], dtype=float)
    empty = WindowFacts()
    frame = pd.DataFrame(
        {
            "start_s": starts,
            "end_s": starts + step,
            "requests": [counts.get(slot, empty).requests for slot in slots],
            "failures": [counts.get(slot, empty).failures for slot in slots],
            "complete": [slot != slots[-1] for slot in slots],
        }
    )
    return frame


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
