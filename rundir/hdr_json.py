"""`hdr.json`: exact latency percentiles per endpoint (docs/run-directory.md).

Written by `loadtests/hdr.py` (`write_hdr_json`, called by the Locust plugin on the master at
the end of a run); read by the reports (summary.json's `hdr` objects) and the gate. Every
figure is written, so a field that is None was not in the file: it is left out again.
"""

from __future__ import annotations

from pathlib import Path

import msgspec

from rundir.document import read_document

HDR_FILE = "hdr.json"
# Locust's name for its all-endpoints row: the totals key in the CSVs, hdr.json, windows.json
# and summary.json's intended latencies.
AGGREGATED = "Aggregated"


class LatencyFacts(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One endpoint's exact latency: hdr.json's figures without the histogram blob (also
    summary.json's `hdr` objects and its open model's `intended` ones)."""

    count: int | None = None
    min_ms: float | None = None
    mean_ms: float | None = None
    max_ms: float | None = None
    p50_ms: float | None = None
    p90_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    p999_ms: float | None = None


class HistogramFacts(LatencyFacts, frozen=True, kw_only=True, omit_defaults=True):
    """One endpoint in hdr.json: its figures and the histogram they come from."""

    histogram: str | None = None  # base64 HDR encoding, mergeable

    def latency(self) -> LatencyFacts:
        """The figures without the histogram blob."""
        return LatencyFacts(
            count=self.count,
            min_ms=self.min_ms,
            mean_ms=self.mean_ms,
            max_ms=self.max_ms,
            p50_ms=self.p50_ms,
            p90_ms=self.p90_ms,
            p95_ms=self.p95_ms,
            p99_ms=self.p99_ms,
            p999_ms=self.p999_ms,
        )


class OpenModelTally(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """An open-model run's sends (the master's tally; run.json copies it)."""

    target_rps: float | None = None
    achieved_rps: float | None = None
    scheduled: int | None = None
    sent: int | None = None
    completed: int | None = None
    late_sends: int | None = None
    dropped: int | None = None


class HdrDocument(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """hdr.json. Endpoint keys are `"<METHOD> <name>"` as Locust's Type + Name, plus
    `Aggregated`; `intended` and `open_model` only in an open-model run."""

    unit: str | None = None  # "ms"
    significant_figures: int | None = None
    endpoints: dict[str, HistogramFacts]
    # Latency measured from each request's intended send time (open model only).
    intended: dict[str, HistogramFacts] | None = None
    open_model: OpenModelTally | None = None


def read_hdr(path: Path) -> HdrDocument:
    """hdr.json decoded; `rundir.document.DocumentError` when unreadable or mistyped."""
    return read_document(path, HdrDocument)
