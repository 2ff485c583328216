"""What a Locust run came to, judged from the CSVs it wrote: the run's exit code and the one
line the terminal shows (`pipeline/runner.py` runs Locust, this reads what it left)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from reports import locust_csv as lc
from reports.errors import ReportInputError
from reports.load import EXCEPTIONS_FILE, FAILURES_FILE
from rundir.units import format_ratio


def judge_outcome(out_dir: Path, locust_exit: int, max_error_rate: float) -> tuple[int, str]:
    """The run's exit code and one line for the terminal. Locust exits 1 on any failed
    request; a run whose failures stay within the error budget (and that raised no exception
    in the locustfile) exits 0, saying how many failed."""
    totals = _aggregated_totals(out_dir / "locust_stats.csv")
    if totals is None:
        log = out_dir / "locust.log"
        return 1, f"Locust exited with code {locust_exit} before any statistics; see {log}"
    requests, failures = totals
    if requests == 0:
        return 1, f"no request was made; see {out_dir / 'locust.log'}"
    if locust_exit == 0:
        return 0, f"{requests} requests, {failures} failures; results in {out_dir}"
    if failures == 0 or _has_exceptions(out_dir):
        return locust_exit, f"Locust exited with code {locust_exit}; see {out_dir / 'locust.log'}"
    rate = failures / requests
    detail = f"{failures} of {requests} requests failed ({format_ratio(rate)}"
    if rate <= max_error_rate:
        return 0, (
            f"{detail}, within the {format_ratio(max_error_rate)} error budget); "
            f"results in {out_dir}"
        )
    hint = rate_limit_hint(out_dir, failures)
    return 1, (
        f"{detail}, over the {format_ratio(max_error_rate)} error budget; "
        f"{_first_failure(out_dir)}); see {out_dir / 'locust_failures.csv'}" + hint
    )


_HTTP_429 = re.compile(r"\b429\b|too many requests", re.IGNORECASE)


def rate_limit_hint(out_dir: Path, failures: int) -> str:
    """When most failures are 429 Too Many Requests, the target's rate limiter is what was
    measured, not the service."""
    limited = sum(row.occurrences for row in _failure_rows(out_dir) if _HTTP_429.search(row.error))
    if failures and limited * 2 > failures:
        return " - the target is rate limiting; start it with `--rate-limit off`"
    return ""


@dataclass(frozen=True)
class _Failure:
    method: str
    name: str
    error: str
    occurrences: int


def _failure_rows(out_dir: Path) -> list[_Failure]:
    """locust_failures.csv, most frequent first; [] when absent or unreadable (the outcome
    line then says less, the run itself is unaffected)."""
    frame = _read_csv(out_dir / FAILURES_FILE, lc.FAILURES_COLUMNS, lc.FAILURES_REQUIRED)
    if frame is None:
        return []
    rows = [
        _Failure(str(row.get("method", "")), str(row["name"]), str(row["error"]),
                 int(row["occurrences"]))
        for _, row in frame.iterrows()
    ]  # fmt: skip
    return sorted(rows, key=lambda row: -row.occurrences)


def _has_exceptions(out_dir: Path) -> bool:
    frame = _read_csv(out_dir / EXCEPTIONS_FILE, lc.EXCEPTIONS_COLUMNS, lc.EXCEPTIONS_REQUIRED)
    return frame is not None and not frame.empty


def _aggregated_totals(stats_csv: Path) -> tuple[int, int] | None:
    frame = _read_csv(stats_csv, lc.STATS_COLUMNS, ("name", "requests", "failures"))
    if frame is None:
        return None
    aggregated = frame[frame["name"] == lc.AGGREGATED]
    if aggregated.empty:
        return None
    return int(aggregated["requests"].iloc[0]), int(aggregated["failures"].iloc[0])


def _read_csv(path: Path, aliases: lc.Aliases, required: tuple[str, ...]) -> pd.DataFrame | None:
    """A Locust CSV through the reports package's reader (every Locust version's column
    names); None when it is missing or unusable."""
    if not path.is_file():
        return None
    try:
        return lc.read_locust_csv(path, aliases, required)
    except ReportInputError:
        return None


def _first_failure(out_dir: Path) -> str:
    rows = _failure_rows(out_dir)
    if not rows:
        return "no detail"
    top = rows[0]
    return f"most often {top.method} {top.name}: {top.error}"
