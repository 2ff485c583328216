"""`loadcap run`: one load run into a run directory, then its summary.json.

The engine behind it is `pipeline.runner`; this adds what the run command promises at the
end: the summary (the reports package's derivation of the directory), its whole-run totals
and the sentence on what hit its limit first. It returns them; the CLI prints.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType
from typing import Any

from pipeline.runner import ProgressCallback, RunOutcome, RunSettings, run_load_test
from reports.errors import ReportInputError
from reports.summary import write_summary


@dataclass(frozen=True)
class RunReport:
    outcome: RunOutcome
    summary: dict[str, Any] | None  # summary.json, None when the run left nothing to summarise
    summary_error: str | None = None  # why there is no summary.json, when Locust wrote stats

    @property
    def exit_code(self) -> int:
        return self.outcome.exit_code

    def whole_run_line(self) -> str | None:
        """The run's totals as summary.json (and so the report) has them."""
        totals = (self.summary or {}).get("totals")
        if not isinstance(totals, dict):
            return None
        hdr = totals.get("hdr") or {}
        p95 = hdr.get("p95_ms", totals.get("p95_ms"))
        rps = totals.get("rps")
        shown_p95 = "-" if p95 is None else f"{p95:.0f} ms"
        shown_rps = "-" if rps is None else f"{rps:.1f}"
        return (
            f"whole run: {shown_rps} req/s, p95 {shown_p95}, "
            f"failures {totals.get('failures', 0):.0f}/{totals.get('requests', 0):.0f}"
        )

    @property
    def verdict(self) -> str | None:
        """summary.json's sentence on what hit its limit first."""
        sentence = ((self.summary or {}).get("capacity") or {}).get("sentence")
        return sentence if isinstance(sentence, str) else None


def run_and_summarise(
    settings: RunSettings, *, on_progress: ProgressCallback | None = None
) -> RunReport:
    """The run (Ctrl+C or SIGTERM end it early, keeping what was measured), then summary.json."""
    with _sigterm_as_interrupt():
        outcome = run_load_test(settings, on_progress=on_progress)
    if not (outcome.out_dir / "locust_stats.csv").exists():
        return RunReport(outcome, None)
    try:
        path = write_summary(outcome.out_dir)
    except ReportInputError as exc:
        return RunReport(outcome, None, summary_error=str(exc))
    return RunReport(outcome, json.loads(path.read_text(encoding="utf-8")))


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (a CI runner cancelling, `kill`) stops the run like Ctrl+C: Locust is asked to
    stop and write its reports, and the embedded service is stopped."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
