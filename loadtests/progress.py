"""The live progress line, from the totals the plugin writes every second (`--progress-out`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Progress:
    elapsed_s: float
    requests: int
    failures: int
    rps: float
    p95_ms: float | None
    load_started_at: float | None = None  # unix time Locust's test started (its clock's zero)

    def line(self) -> str:
        p95 = "-" if self.p95_ms is None else f"{self.p95_ms:.0f} ms"
        return (
            f"{self.elapsed_s:5.0f}s  {self.rps:8.1f} req/s  p95 {p95:>8}  "
            f"failures {self.failures}/{self.requests}"
        )


def latest_progress(progress_json: Path, elapsed_s: float) -> Progress | None:
    """None before Locust has written its first totals (or when the file is unreadable)."""
    try:
        live = json.loads(progress_json.read_text(encoding="utf-8"))
        return Progress(
            elapsed_s=elapsed_s,
            requests=int(live["requests"]),
            failures=int(live["failures"]),
            rps=float(live["rps"]),
            p95_ms=None if live.get("p95_ms") is None else float(live["p95_ms"]),
            load_started_at=None
            if live.get("load_started_at") is None
            else float(live["load_started_at"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
