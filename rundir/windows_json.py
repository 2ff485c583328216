"""`windows.json`: the run's one-second windows (docs/run-directory.md).

Written by `loadtests/windows.py` on the master (or the only Locust process) at the end of a
run: every request is counted in the second it completed in, whichever process sent it, so a
window's `requests` are exact for any number of processes. Locust's stats history is not: a
master writes workers' counts as they arrive, in batches every few seconds. Read by the
reports (stage throughput) and the gate's noise model.
"""

from __future__ import annotations

from pathlib import Path

import msgspec

from rundir.document import read_document
from rundir.hdr_json import AGGREGATED

WINDOWS_FILE = "windows.json"
TOTAL_SCOPES = (AGGREGATED, "Total")  # the all-endpoints scope, as written over the versions


class WindowFacts(msgspec.Struct, frozen=True, kw_only=True):
    """One scope (an endpoint key, or `Aggregated`) in one window."""

    requests: int = 0
    failures: int = 0
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None


class Window(msgspec.Struct, frozen=True, kw_only=True):
    start_s: float  # seconds since the recorder's start (`started_at`)
    scopes: dict[str, WindowFacts] = {}

    @property
    def total(self) -> WindowFacts:
        """The all-endpoints scope; an empty one when the window has none."""
        return next((self.scopes[key] for key in TOTAL_SCOPES if key in self.scopes), WindowFacts())


class WindowsDocument(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    # omit_defaults: `late` is written only when a sample was late (docs/run-directory.md).
    window_s: float
    windows: list[Window] = []
    # Unix time of window 0: the test's start on the master. Absent in runs recorded before
    # loadcap wrote it; their windows start with the run's `started_at` (the same event).
    started_at: float | None = None
    late: int | None = None  # samples counted after their window was sealed

    def __post_init__(self) -> None:
        if not self.window_s > 0:
            raise ValueError(f"window_s must be positive, got {self.window_s}")


def read_windows(path: Path) -> WindowsDocument:
    """windows.json decoded; `rundir.document.DocumentError` when unreadable or mistyped."""
    return read_document(path, WindowsDocument)
