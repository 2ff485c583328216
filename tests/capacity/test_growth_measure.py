"""Row size measured from a SQLite database feeds the growth projection."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from capacity.errors import CapacityInputError
from capacity.growth import measure_sqlite_row_bytes


def make_db(path: Path, rows: int) -> Path:
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("CREATE TABLE profiles (id INTEGER PRIMARY KEY, email TEXT UNIQUE, bio TEXT)")
        db.executemany(
            "INSERT INTO profiles (email, bio) VALUES (?, ?)",
            [(f"user{i}@example.com", "x" * 300) for i in range(rows)],
        )
    return path


def test_row_bytes_are_pages_in_use_over_rows(tmp_path: Path) -> None:
    path = make_db(tmp_path / "p.db", 2000)
    row_bytes, rows = measure_sqlite_row_bytes(path)
    assert rows == 2000
    # 300-byte bio + ~20-byte email, plus the unique index and page slack.
    assert 320 < row_bytes < 700
    assert row_bytes == pytest.approx(path.stat().st_size / 2000, rel=0.05)


def test_empty_or_missing_databases_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(CapacityInputError, match="no SQLite database"):
        measure_sqlite_row_bytes(tmp_path / "absent.db")
    with pytest.raises(CapacityInputError, match="is empty"):
        measure_sqlite_row_bytes(make_db(tmp_path / "e.db", 0))
    other = tmp_path / "o.db"
    with closing(sqlite3.connect(other)) as db:
        db.execute("CREATE TABLE t (x)")
    with pytest.raises(CapacityInputError, match="cannot measure"):
        measure_sqlite_row_bytes(other)
