"""Data growth: creates per second from the mix, rows and storage over time, and when the
seed's own sharding threshold (100 million profiles) is reached.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from capacity.errors import CapacityInputError
from capacity.workload import SECONDS_PER_DAY, Workload

SEED_SHARDING_THRESHOLD = 100_000_000  # "Sharding ... (si > 100M usuarios)"
DAYS_PER_MONTH = 730 / 24  # the same month the prices use
GB = 1e9


@dataclass(frozen=True, kw_only=True)
class DataGrowth:
    creates_per_s: float
    rows_per_day: float
    row_bytes: float
    row_bytes_source: str
    bytes_per_month: float
    current_rows: int
    threshold_rows: int
    days_to_threshold: float | None  # None when nothing is created

    @property
    def months_to_threshold(self) -> float | None:
        days = self.days_to_threshold
        return None if days is None else days / DAYS_PER_MONTH

    def sentence(self) -> str:
        head = (
            f"{self.creates_per_s:,.0f} new profiles/s is "
            f"{self.rows_per_day / 1e6:,.2f} M rows/day and "
            f"~{self.bytes_per_month / GB:,.1f} GB/month ({self.row_bytes:,.0f} B/row, "
            f"{self.row_bytes_source})"
        )
        days = self.days_to_threshold
        if days is None:
            return head + "; with no creates the table does not grow."
        if days <= 0:
            return head + f"; already past the seed's {self.threshold_rows / 1e6:,.0f} M threshold."
        return head + (
            f"; the seed's sharding threshold ({self.threshold_rows / 1e6:,.0f} M profiles) "
            f"arrives in {days:,.0f} days ({self.months_to_threshold:,.1f} months)."
        )


def project_growth(
    workload: Workload,
    *,
    row_bytes: float,
    row_bytes_source: str = "assumed",
    current_rows: int = 0,
    threshold_rows: int = SEED_SHARDING_THRESHOLD,
) -> DataGrowth:
    if row_bytes <= 0:
        raise CapacityInputError(f"row bytes must be positive, got {row_bytes}")
    if current_rows < 0:
        raise CapacityInputError(f"current profiles must be 0 or more, got {current_rows}")
    creates = workload.create_rps
    per_day = creates * SECONDS_PER_DAY
    remaining = threshold_rows - current_rows
    return DataGrowth(
        creates_per_s=creates,
        rows_per_day=per_day,
        row_bytes=row_bytes,
        row_bytes_source=row_bytes_source,
        bytes_per_month=per_day * DAYS_PER_MONTH * row_bytes,
        current_rows=current_rows,
        threshold_rows=threshold_rows,
        days_to_threshold=None if per_day <= 0 else remaining / per_day,
    )


def measure_sqlite_row_bytes(path: Path, table: str = "profiles") -> tuple[float, int]:
    """On-disk bytes per row (pages in use / rows, indexes included) and the row count."""
    if not path.is_file():
        raise CapacityInputError(f"no SQLite database at {path}")
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            rows = int(db.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0])
            pages = int(db.execute("PRAGMA page_count").fetchone()[0])
            free = int(db.execute("PRAGMA freelist_count").fetchone()[0])
            page_size = int(db.execute("PRAGMA page_size").fetchone()[0])
    except sqlite3.Error as exc:
        raise CapacityInputError(f"cannot measure rows in {path}: {exc}") from None
    if rows == 0:
        raise CapacityInputError(f"{path}: table {table!r} is empty; seed it before measuring")
    return (pages - free) * page_size / rows, rows
