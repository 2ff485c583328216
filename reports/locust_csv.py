"""Read Locust's CSV files by column name, whatever Locust version wrote them.

Locust has renamed its columns over the years ("# requests" became "Request Count", "Method"
became "Type" in the stats file but not in the failures file). Each column we use has a
canonical name here and the spellings Locust has used for it; columns we do not know are
ignored, so a newer Locust that adds columns still reads.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from reports.errors import ReportInputError
from rundir.hdr_json import AGGREGATED as AGGREGATED

Aliases = Mapping[str, Sequence[str]]

# canonical name -> spellings (compared after lower-casing and collapsing whitespace)
STATS_COLUMNS: Mapping[str, Sequence[str]] = {
    "method": ("type", "method"),
    "name": ("name",),
    "requests": ("request count", "# requests", "requests", "num requests"),
    "failures": ("failure count", "# failures", "failures", "num failures"),
    "median_ms": ("median response time",),
    "avg_ms": ("average response time",),
    "min_ms": ("min response time",),
    "max_ms": ("max response time",),
    "avg_size": ("average content size",),
    "rps": ("requests/s", "current rps", "rps"),
    "fail_rps": ("failures/s", "current failures/s"),
}
HISTORY_COLUMNS: Mapping[str, Sequence[str]] = {
    "timestamp": ("timestamp",),
    "users": ("user count", "users"),
    "method": ("type", "method"),
    "name": ("name",),
    "current_rps": ("requests/s",),
    "current_fail_rps": ("failures/s",),
    "requests": ("total request count", "# requests"),
    "failures": ("total failure count", "# failures"),
    "median_ms": ("total median response time",),
    "avg_ms": ("total average response time",),
    "max_ms": ("total max response time",),
}
FAILURES_COLUMNS: Mapping[str, Sequence[str]] = {
    "method": ("method", "type"),
    "name": ("name",),
    "error": ("error",),
    "occurrences": ("occurrences", "count"),
}
EXCEPTIONS_COLUMNS: Mapping[str, Sequence[str]] = {
    "count": ("count",),
    "message": ("message", "msg"),
    "traceback": ("traceback",),
}

STATS_REQUIRED = ("method", "name", "requests", "failures", "rps", "p50_ms", "p95_ms", "p99_ms")
HISTORY_REQUIRED = ("timestamp", "users", "name", "requests", "failures")
FAILURES_REQUIRED = ("name", "error", "occurrences")
EXCEPTIONS_REQUIRED = ("count", "message")

_TEXT_COLUMNS = frozenset({"method", "name", "error", "message", "traceback"})
_PERCENTILE = re.compile(r"^(\d+(?:\.\d+)?)%$")


def percentile_column(label: str) -> str | None:
    """'95%' -> 'p95_ms', '99.9%' -> 'p999_ms' (the hdr.json spelling); None if not one."""
    match = _PERCENTILE.match(label.strip())
    return f"p{match.group(1).replace('.', '')}_ms" if match else None


def _normalise(label: str) -> str:
    return " ".join(str(label).strip().lower().split())


def _canonical_names(
    columns: Sequence[str], aliases: Mapping[str, Sequence[str]]
) -> dict[str, str]:
    by_spelling = {
        spelling: canonical for canonical, names in aliases.items() for spelling in names
    }
    renames: dict[str, str] = {}
    for column in columns:
        canonical = by_spelling.get(_normalise(column)) or percentile_column(column)
        if canonical and canonical not in renames.values():
            renames[column] = canonical
    return renames


MAX_CSV_NUMBER = 1e15  # ms or requests: 31,700 years, or a quadrillion requests


def read_locust_csv(
    path: Path, aliases: Mapping[str, Sequence[str]], required: Sequence[str]
) -> pd.DataFrame:
    """One Locust CSV as a frame with canonical column names; `ReportInputError` if unusable."""
    if not path.is_file():
        raise ReportInputError(f"{path}: file not found (is this a loadcap run directory?)")
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise ReportInputError(f"{path}: file is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise ReportInputError(f"{path}: not a readable CSV ({reason})") from None
    frame = raw.rename(columns=_canonical_names(list(raw.columns), aliases))
    missing = [column for column in required if column not in frame.columns]
    if missing:
        found = ", ".join(map(str, raw.columns)) or "none"
        raise ReportInputError(
            f"{path}: unknown column layout, missing {', '.join(missing)} (found: {found})"
        )
    known = [c for c in frame.columns if c in aliases or percentile_column_name(c)]
    frame = frame[known].copy()
    for column in frame.columns:
        if column not in _TEXT_COLUMNS:
            # Locust writes "N/A" for the percentiles of an entry with no requests yet.
            frame[column] = pd.to_numeric(frame[column].replace("N/A", ""), errors="coerce")
        else:
            frame[column] = frame[column].fillna("").astype(str)
    _check_complete(path, frame)
    return frame


def percentile_column_name(column: str) -> bool:
    return re.fullmatch(r"p\d+_ms", column) is not None


def _check_complete(path: Path, frame: pd.DataFrame) -> None:
    """A row with a number missing is a cut-off write, not data we can trust.

    Percentiles are allowed to be empty only where the entry has no requests yet (Locust
    writes "N/A" there); every other number must be present.
    """
    numeric = [c for c in frame.columns if c not in _TEXT_COLUMNS]
    percentiles = [c for c in numeric if percentile_column_name(c)]
    counts = [c for c in numeric if c not in percentiles]
    broken = frame[counts].isna().any(axis=1)
    if percentiles and "requests" in frame.columns:
        has_requests = frame["requests"].fillna(1) > 0
        broken |= has_requests & frame[percentiles].isna().any(axis=1)
    if broken.any():
        line = int(broken.to_numpy().nonzero()[0][0]) + 2  # 1-based, after the header line
        raise ReportInputError(f"{path}: truncated or malformed row at line {line}")
    # A 400-digit count parses as inf; nothing Locust writes comes near this bound.
    absurd = ~frame[numeric].abs().le(MAX_CSV_NUMBER) & frame[numeric].notna()
    if absurd.any(axis=None):
        row, col = (int(i[0]) for i in absurd.to_numpy().nonzero())
        column = numeric[col]
        raise ReportInputError(
            f"{path}: line {row + 2}: {column} is not a plausible number "
            f"(at most {MAX_CSV_NUMBER:g}), got {frame[column].iloc[row]:g}"
        )
