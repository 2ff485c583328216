"""The embedded default backend: SQLite through aiosqlite, one writer and a few readers (WAL).

SQLite allows one writer at a time, so writes share one connection (aiosqlite serialises them
on its thread) while reads spread over reader connections that WAL lets run concurrently.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from target_service.metrics import ServiceMetrics
from target_service.settings import Settings, SettingsError
from target_service.signing_key import (
    KEY_NAME,
    SQLITE_INSERT_KEY,
    SQLITE_SELECT_KEY,
    SQLITE_TABLE,
    new_key,
)
from target_service.storage import (
    Check,
    DuplicateEmail,
    NewProfile,
    Profile,
    StorageUnavailable,
    utc_timestamp,
)

# The same table as the MySQL backend's; email uniqueness ignores ASCII case like MySQL's
# default collation does, so both backends answer 409 for the same requests.
SCHEMA = """
CREATE TABLE IF NOT EXISTS profiles (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    email TEXT NOT NULL COLLATE NOCASE UNIQUE,
    bio TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
)
"""
COLUMNS = "id, name, email, bio, created_at, updated_at"
SELECT_ONE = f"SELECT {COLUMNS} FROM profiles WHERE id = ?"
SELECT_PAGE = f"SELECT {COLUMNS} FROM profiles ORDER BY id LIMIT ? OFFSET ?"
INSERT_ONE = (
    "INSERT INTO profiles (name, email, bio, created_at, updated_at) "
    f"VALUES (?, ?, ?, ?, ?) RETURNING {COLUMNS}"
)
INSERT_MANY = (
    "INSERT INTO profiles (name, email, bio, created_at, updated_at) VALUES (?, ?, ?, ?, ?)"
)
UPDATABLE = ("name", "email", "bio")
MAX_READERS = 4
POOL = "master"


def sqlite_path(db_url: str) -> str:
    """`sqlite:///relative.db`, `sqlite:////abs/path.db` or `sqlite:///:memory:` -> a path."""
    if not db_url.startswith("sqlite:///"):
        raise SettingsError(f"expected sqlite:///path, got {db_url!r}")
    path = db_url.removeprefix("sqlite:///")
    if not path:
        raise SettingsError(f"no file name in {db_url!r}")
    return path


def _row_to_profile(row: Any) -> Profile:
    return {
        "id": row[0],
        "name": row[1],
        "email": row[2],
        "bio": row[3],
        "created_at": row[4],
        "updated_at": row[5],
    }


class SQLiteProfileStore:
    """`ProfileStore` over a SQLite file; `primary` is meaningless here (one copy of the data)."""

    def __init__(self, settings: Settings, metrics: ServiceMetrics) -> None:
        self.path = sqlite_path(settings.db_url)
        self.reader_count = 0 if self.path == ":memory:" else min(settings.pool_size, MAX_READERS)
        self._writer: aiosqlite.Connection | None = None
        self._readers: list[aiosqlite.Connection] = []
        self._next_reader: Iterator[aiosqlite.Connection] | None = None
        self._reads = metrics.db_queries.labels(POOL, "read")
        self._writes = metrics.db_queries.labels(POOL, "write")
        self._in_use = metrics.db_pool_in_use.labels(POOL)
        # Statements queued or running per connection (by id): aiosqlite queues any number
        # on one connection, so "in use" counts connections with work, not statements.
        self._outstanding: dict[int, int] = {}
        metrics.db_pool_size.labels(POOL).set(1 + self.reader_count)

    async def open(self) -> None:
        try:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self._writer = await self._connect()
            await self._writer.execute_fetchall("PRAGMA journal_mode=WAL")
            for _ in range(self.reader_count):
                self._readers.append(await self._connect())
        except (sqlite3.Error, OSError) as exc:
            await self.close()
            raise StorageUnavailable(f"cannot open SQLite database {self.path}: {exc}") from exc
        self._next_reader = itertools.cycle(self._readers or [self._writer])

    async def _connect(self) -> aiosqlite.Connection:
        # isolation_level=None: autocommit, so each statement is its own short transaction.
        conn = await aiosqlite.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            # Pragmas through fetchall: an unfinished statement would keep a lock open.
            await conn.execute_fetchall("PRAGMA busy_timeout=5000")
            await conn.execute_fetchall("PRAGMA synchronous=NORMAL")
        except BaseException:
            await conn.close()
            raise
        return conn

    async def close(self) -> None:
        for conn in [*self._readers, *([self._writer] if self._writer else [])]:
            await conn.close()
        self._writer, self._readers, self._next_reader = None, [], None

    async def init_schema(self) -> None:
        await self._write(SCHEMA, ())
        await self._write(SQLITE_TABLE, ())
        await self._write(SQLITE_INSERT_KEY, (KEY_NAME, new_key()))

    async def signing_key(self) -> str | None:
        """The key in this file, created if absent (`INSERT OR IGNORE`: concurrent workers
        starting together keep the first one written)."""
        try:
            await self._write(SQLITE_TABLE, ())
            await self._write(SQLITE_INSERT_KEY, (KEY_NAME, new_key()))
            rows = await self._read(SQLITE_SELECT_KEY, (KEY_NAME,))
        except StorageUnavailable:
            return None
        return str(rows[0][0]) if rows else None

    async def get_profile(self, profile_id: int, *, primary: bool = False) -> Profile | None:
        rows = await self._read(SELECT_ONE, (profile_id,))
        return _row_to_profile(rows[0]) if rows else None

    async def list_profiles(
        self, *, offset: int, limit: int, primary: bool = False
    ) -> list[Profile]:
        rows = await self._read(SELECT_PAGE, (limit, offset))
        return [_row_to_profile(row) for row in rows]

    async def create_profile(self, profile: NewProfile) -> Profile:
        now = utc_timestamp()
        params = (profile["name"], profile["email"], profile["bio"], now, now)
        rows = await self._write(INSERT_ONE, params)
        return _row_to_profile(rows[0])

    async def update_profile(self, profile_id: int, changes: Mapping[str, str]) -> Profile | None:
        columns = [name for name in UPDATABLE if name in changes]
        # Column names come from the fixed UPDATABLE list, never from the request.
        assignments = "".join(f"{name} = ?, " for name in columns)
        sql = f"UPDATE profiles SET {assignments}updated_at = ? WHERE id = ? RETURNING {COLUMNS}"
        params = (*(changes[name] for name in columns), utc_timestamp(), profile_id)
        rows = await self._write(sql, params)
        return _row_to_profile(rows[0]) if rows else None

    async def bulk_insert(self, rows: Iterable[NewProfile]) -> int:
        writer = self._connection()
        now = utc_timestamp()
        params = [(r["name"], r["email"], r["bio"], now, now) for r in rows]
        try:
            with self._busy(writer):
                await writer.execute("BEGIN")
                await writer.executemany(INSERT_MANY, params)
                await writer.execute("COMMIT")
        except sqlite3.IntegrityError as exc:
            await writer.execute("ROLLBACK")
            raise DuplicateEmail("a seeded email already exists") from exc
        except sqlite3.Error as exc:
            raise StorageUnavailable(f"bulk insert failed: {exc}") from exc
        self._writes.inc()
        return len(params)

    async def checks(self) -> list[Check]:
        try:
            await self._read("SELECT 1", ())
        except StorageUnavailable as exc:
            return [Check("database", ok=False, critical=True, detail=str(exc))]
        return [Check("database", ok=True, critical=True, detail="sqlite")]

    def _connection(self) -> aiosqlite.Connection:
        if self._writer is None:
            raise StorageUnavailable("the SQLite store is not open")
        return self._writer

    @contextmanager
    def _busy(self, conn: aiosqlite.Connection) -> Iterator[None]:
        """Count `conn` in the in-use gauge while it has at least one statement to run, so
        the gauge stays within the pool size like the MySQL pools' (a queue is not a pool)."""
        key = id(conn)
        outstanding = self._outstanding.get(key, 0)
        if outstanding == 0:
            self._in_use.inc()
        self._outstanding[key] = outstanding + 1
        try:
            yield
        finally:
            outstanding = self._outstanding.pop(key) - 1
            if outstanding > 0:
                self._outstanding[key] = outstanding
            else:
                self._in_use.dec()

    async def _read(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        if self._next_reader is None:
            raise StorageUnavailable("the SQLite store is not open")
        reader = next(self._next_reader)
        self._reads.inc()
        try:
            with self._busy(reader):
                return list(await reader.execute_fetchall(sql, params))
        except sqlite3.Error as exc:
            raise StorageUnavailable(f"SQLite read failed: {exc}") from exc

    async def _write(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        writer = self._connection()
        self._writes.inc()
        try:
            with self._busy(writer):
                return list(await writer.execute_fetchall(sql, params))
        except sqlite3.IntegrityError as exc:
            if "UNIQUE" in str(exc):
                raise DuplicateEmail("email already in use") from exc
            raise StorageUnavailable(f"SQLite write failed: {exc}") from exc
        except sqlite3.Error as exc:
            raise StorageUnavailable(f"SQLite write failed: {exc}") from exc
