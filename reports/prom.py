"""Parse the target's `/metrics` snapshots (metrics/index.csv + *.prom) into one long frame.

A snapshot is a Prometheus text exposition taken at a known time. Counters are cumulative,
so rates and ratios come from differencing snapshots (see `reports.service_metrics`).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from reports.errors import ReportInputError
from rundir.exposition import ExpositionError, parse_samples

INDEX_FILE = "index.csv"
INDEX_COLUMNS = ("timestamp", "elapsed_s", "phase", "file")
# The labels loadcap's metrics carry (target_service/metrics.py); each becomes a column.
LABELS = ("method", "route", "status", "kind", "result", "pool", "reason", "le")
PREFIX = "loadcap_"
# Any Prometheus client's default process metrics (Python, Go, Java, Node): how hard the
# target worked, so that service demand can be measured on a foreign service too.
PROCESS_SAMPLES = (
    "process_cpu_seconds_total",
    "process_resident_memory_bytes",
    "process_open_fds",
)
WHEN_COLUMNS = ("timestamp", "elapsed_s", "phase")


def parse_exposition(text: str) -> list[tuple[str, dict[str, str], float]]:
    """(sample name, labels, value) for loadcap's own samples and the process metrics."""
    try:
        samples = parse_samples(text, prefixes=(PREFIX, *PROCESS_SAMPLES))
    except ExpositionError as exc:
        raise ReportInputError(str(exc)) from None
    return [(s.name, s.labels, s.value) for s in samples]


def _read_index(metrics_dir: Path) -> pd.DataFrame:
    path = metrics_dir / INDEX_FILE
    try:
        index = pd.read_csv(path)
    except (pd.errors.EmptyDataError, pd.errors.ParserError):
        raise ReportInputError(f"{path}: empty or not a CSV") from None
    missing = [c for c in INDEX_COLUMNS if c not in index.columns]
    if missing:
        raise ReportInputError(f"{path}: missing column(s) {', '.join(missing)}")
    if index[["timestamp", "elapsed_s", "file"]].isna().any().any():
        raise ReportInputError(f"{path}: truncated or malformed row")
    return index


def load_snapshots(metrics_dir: Path) -> pd.DataFrame | None:
    """All snapshots as rows (timestamp, elapsed_s, phase, sample, value, *LABELS), or None.

    None when the run has no metrics directory (a target without `/metrics`).
    """
    if not (metrics_dir / INDEX_FILE).is_file():
        return None
    index = _read_index(metrics_dir)
    rows: list[dict[str, object]] = []
    for snapshot in index.itertuples(index=False):
        # `file` is relative to the run directory ("metrics/0001-start.prom"); accept it
        # relative to metrics/ too.
        path = metrics_dir.parent / str(snapshot.file)
        if not path.is_file():
            path = metrics_dir / str(snapshot.file)
        if not path.is_file():
            raise ReportInputError(f"{path}: listed in {INDEX_FILE} but missing")
        try:
            samples = parse_exposition(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            raise ReportInputError(f"{path}: not Prometheus text format (not UTF-8)") from None
        except ReportInputError as exc:
            raise ReportInputError(f"{path}: {exc}") from None
        when = {
            "timestamp": float(str(snapshot.timestamp)),
            "elapsed_s": float(str(snapshot.elapsed_s)),
            "phase": str(snapshot.phase),
        }
        rows += [
            {**when, "sample": name, "value": value, **labels} for name, labels, value in samples
        ]
    frame = pd.DataFrame(rows, columns=[*WHEN_COLUMNS, "sample", "value", *LABELS])
    return frame.sort_values("timestamp", kind="stable").reset_index(drop=True)
