"""`loadcap run`: one load run into a run directory, then its summary.json.

The engine behind it is `pipeline.runner`; this adds what the run command promises at the
end: the summary (the reports package's derivation of the directory), its whole-run totals
and the sentence on what hit its limit first. It returns them; the CLI prints.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType

from pipeline.runner import ProgressCallback, RunOutcome, RunSettings, run_load_test
from reports.errors import ReportInputError
from reports.load import STATS_FILE
from reports.summary import write_summary
from rundir.document import DocumentError
from rundir.summary_json import Summary, read_summary


@dataclass(frozen=True)
class RunReport:
    outcome: RunOutcome
    summary: Summary | None  # summary.json, None when the run left nothing to summarise
    summary_error: str | None = None  # why there is no summary.json, when Locust wrote stats

    @property
    def exit_code(self) -> int:
        return self.outcome.exit_code

    def whole_run_line(self) -> str | None:
        """The run's totals as summary.json (and so the report) has them."""
        if self.summary is None:
            return None
        totals = self.summary.totals
        p95 = totals.hdr.p95_ms if totals.hdr and totals.hdr.p95_ms is not None else totals.p95_ms
        shown_p95 = "-" if p95 is None else f"{p95:.0f} ms"
        shown_rps = "-" if totals.rps is None else f"{totals.rps:.1f}"
        return (
            f"whole run: {shown_rps} req/s, p95 {shown_p95}, "
            f"failures {totals.failures or 0:.0f}/{totals.requests or 0:.0f}"
        )

    @property
    def verdict(self) -> str | None:
        """summary.json's sentence on what hit its limit first."""
        capacity = self.summary.capacity if self.summary else None
        return capacity.sentence if capacity else None


def run_and_summarise(
    settings: RunSettings, *, on_progress: ProgressCallback | None = None
) -> RunReport:
    """The run (Ctrl+C or SIGTERM end it early, keeping what was measured), then summary.json."""
    with _sigterm_as_interrupt():
        outcome = run_load_test(settings, on_progress=on_progress)
    if not (outcome.out_dir / STATS_FILE).exists():
        return RunReport(outcome, None)
    try:
        summary = read_summary(write_summary(outcome.out_dir))
    except (ReportInputError, DocumentError) as exc:
        return RunReport(outcome, None, summary_error=str(exc))
    return RunReport(outcome, summary)


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
