"""The production ProfileStore: MySQL/MariaDB through asyncmy, with replica routing.

Same records and exceptions as the SQLite store. Timestamps are stored as UTC `DATETIME(6)`
values computed here (not by the server), so both backends produce identical ISO strings.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import asyncmy
from asyncmy.connection import Connection
from asyncmy.errors import IntegrityError, MySQLError

from target_service.metrics import ServiceMetrics
from target_service.mysql_pool import (
    CONNECTION_ERRORS,
    NamedPool,
    master_unreachable,
    parse_mysql_url,
    unreachable,
)
from target_service.replica_router import Query, ReplicaRouter
from target_service.settings import Settings
from target_service.signing_key import (
    ER_NO_SUCH_TABLE,
    MYSQL_TABLE,
    mysql_created_key,
    mysql_stored_key,
)
from target_service.storage import (
    Check,
    DuplicateEmail,
    NewProfile,
    Profile,
    utc_timestamp,
)

_COLUMNS = "id, name, email, bio, created_at, updated_at"
_EDITABLE = ("name", "email", "bio")
_INSERT = (
    "INSERT INTO profiles (name, email, bio, created_at, updated_at) VALUES (%s, %s, %s, %s, %s)"
)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS profiles (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name VARCHAR(255) NOT NULL,
    email VARCHAR(255) NOT NULL,
    bio TEXT NOT NULL,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    UNIQUE KEY profiles_email (email)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
"""
_ER_DUP_ENTRY = 1062
_ER_BAD_DB_ERROR = 1049
_KEY_ERRORS: tuple[type[Exception], ...] = (*CONNECTION_ERRORS, MySQLError)
# Rows per INSERT transaction when seeding: large enough that round trips vanish, small
# enough that one statement stays well under max_allowed_packet and replicas apply it quickly.
BULK_BATCH_ROWS = 5_000
_HEALTH_TIMEOUT_S = 2.0

Row = tuple[Any, ...]


class MySQLProfileStore:
    """ProfileStore over a master pool and one pool per replica (`settings.replica_urls`)."""

    def __init__(self, settings: Settings, metrics: ServiceMetrics) -> None:
        master_address = parse_mysql_url(settings.db_url)
        self._master_address = master_address
        master = NamedPool("master", master_address, size=settings.pool_size, metrics=metrics)
        replicas = [
            NamedPool(f"replica{i}", parse_mysql_url(url), size=settings.pool_size, metrics=metrics)
            for i, url in enumerate(settings.replica_urls)
        ]
        self.router = ReplicaRouter(
            master,
            replicas,
            metrics=metrics,
            max_lag_s=settings.replica_max_lag_s,
            retry_s=settings.replica_retry_s,
            check_interval_s=settings.replica_check_interval_s,
            causal=settings.read_your_writes_mode == "gtid",
            max_stale_s=settings.replica_max_stale_s,
        )

    async def open(self) -> None:
        await self.router.master.open()
        for replica in self.router.replicas:
            await replica.pool.open()
        await self.router.start()

    async def close(self) -> None:
        await self.router.stop()
        for replica in self.router.replicas:
            await replica.pool.close()
        await self.router.master.close()

    async def init_schema(self) -> None:
        """Create the database (when missing), the profiles table and the signing key, on
        the master."""
        database = self._master_address.database
        try:
            conn = await asyncmy.connect(**self._master_address.connect_kwargs(database=False))
        except CONNECTION_ERRORS as exc:
            if not unreachable(exc):
                raise
            raise master_unreachable(self._master_address, exc) from exc
        try:
            async with conn.cursor() as cursor:
                # "Already exists" notes would be logged by asyncmy as warnings on every start.
                await cursor.execute("SET SESSION sql_notes = 0")
                # An identifier cannot be a parameter; parse_mysql_url allowed only [A-Za-z0-9_$].
                await cursor.execute(
                    f"CREATE DATABASE IF NOT EXISTS `{database}` "
                    "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
                )
                await cursor.execute(f"USE `{database}`")
                await cursor.execute(_SCHEMA)
                await cursor.execute(MYSQL_TABLE)
            await mysql_created_key(conn)
        except CONNECTION_ERRORS as exc:
            if not unreachable(exc):
                raise
            raise master_unreachable(self._master_address, exc) from exc
        finally:
            await conn.ensure_closed()

    async def signing_key(self) -> str | None:
        """The fleet's key from the master (created there if absent); while the master is
        unreachable, a replica's copy; None when no server has it."""
        try:
            async with self.router.master.connection() as conn:
                return await mysql_created_key(conn)
        except _KEY_ERRORS as exc:
            if not (unreachable(exc) or _no_schema(exc)):
                raise
        for replica in self.router.replicas:
            try:
                async with replica.pool.connection() as conn:
                    key = await mysql_stored_key(conn)
            except _KEY_ERRORS as exc:
                if not (unreachable(exc) or _no_schema(exc)):
                    raise
                continue
            if key is not None:
                return key
        return None

    async def get_profile(self, profile_id: int, *, primary: bool = False) -> Profile | None:
        async def select(conn: Connection) -> Profile | None:
            return await _select_profile(conn, profile_id)

        return await self.router.read(select, primary=primary)

    async def list_profiles(
        self, *, offset: int, limit: int, primary: bool = False
    ) -> list[Profile]:
        async def select(conn: Connection) -> list[Profile]:
            async with conn.cursor() as cursor:
                await cursor.execute(
                    f"SELECT {_COLUMNS} FROM profiles ORDER BY id LIMIT %s OFFSET %s",
                    (limit, offset),
                )
                rows: Sequence[Row] = await cursor.fetchall()
            return [_profile(row) for row in rows]

        return await self.router.read(select, primary=primary)

    async def create_profile(self, profile: NewProfile) -> Profile:
        now = _now()

        async def insert(conn: Connection) -> Profile:
            async with conn.cursor() as cursor:
                try:
                    await cursor.execute(
                        _INSERT, (profile["name"], profile["email"], profile["bio"], now, now)
                    )
                except IntegrityError as exc:
                    _raise_if_duplicate(exc)
                    raise
                profile_id = int(cursor.lastrowid)
            stamp = utc_timestamp(now)
            return Profile(
                id=profile_id,
                name=profile["name"],
                email=profile["email"],
                bio=profile["bio"],
                created_at=stamp,
                updated_at=stamp,
            )

        return await self.router.write(insert)

    async def update_profile(self, profile_id: int, changes: Mapping[str, str]) -> Profile | None:
        unknown = set(changes) - set(_EDITABLE)
        if unknown:
            raise ValueError(f"cannot change {', '.join(sorted(unknown))}")
        columns = [column for column in _EDITABLE if column in changes]
        # Column names come from the fixed _EDITABLE list, never from the caller.
        assignments = "".join(f"{column} = %s, " for column in columns)
        values = [changes[column] for column in columns]

        async def update(conn: Connection) -> Profile | None:
            await conn.begin()
            try:
                async with conn.cursor() as cursor:
                    await cursor.execute(
                        f"UPDATE profiles SET {assignments}updated_at = %s WHERE id = %s",
                        (*values, _now(), profile_id),
                    )
                updated = await _select_profile(conn, profile_id)
                await conn.commit()
            except IntegrityError as exc:
                await conn.rollback()
                _raise_if_duplicate(exc)
                raise
            # On any other failure the pool closes the connection on release, because it is
            # still inside a transaction, and the server rolls back.
            return updated

        return await self.router.write(update)

    async def bulk_insert(self, rows: Iterable[NewProfile]) -> int:
        """Multi-row INSERTs, BULK_BATCH_ROWS per transaction; earlier batches stay committed
        when a later one fails (a duplicate email raises DuplicateEmail)."""
        inserted = 0
        iterator = iter(rows)
        while batch := list(itertools.islice(iterator, BULK_BATCH_ROWS)):
            inserted += await self.router.write(_insert_batch_query(batch))
        return inserted

    async def checks(self) -> list[Check]:
        """The master is critical (unhealthy without it); each replica only degrades."""
        results = [await self._master_check()]
        for replica in self.router.replicas:
            results.append(
                Check(replica.pool.name, replica.in_rotation, critical=False, detail=replica.detail)
            )
        return results

    async def _master_check(self) -> Check:
        async def ping(conn: Connection) -> None:
            async with conn.cursor() as cursor:
                await cursor.execute("SELECT 1")

        try:
            async with asyncio.timeout(_HEALTH_TIMEOUT_S):
                async with self.router.master.connection() as conn:
                    await ping(conn)
        except CONNECTION_ERRORS as exc:
            if not unreachable(exc):
                raise
            return Check("database", False, critical=True, detail="master unreachable")
        return Check("database", True, critical=True, detail="master reachable")


def _insert_batch_query(batch: list[NewProfile]) -> Query[int]:
    now = _now()
    params = [(row["name"], row["email"], row["bio"], now, now) for row in batch]

    async def insert(conn: Connection) -> int:
        await conn.begin()
        try:
            async with conn.cursor() as cursor:
                # asyncmy rewrites executemany of one INSERT into multi-row INSERT statements.
                await cursor.executemany(_INSERT, params)
            await conn.commit()
        except IntegrityError as exc:
            await conn.rollback()
            _raise_if_duplicate(exc)
            raise
        return len(params)

    return insert


async def _select_profile(conn: Connection, profile_id: int) -> Profile | None:
    async with conn.cursor() as cursor:
        await cursor.execute(f"SELECT {_COLUMNS} FROM profiles WHERE id = %s", (profile_id,))
        row: Row | None = await cursor.fetchone()
    return None if row is None else _profile(row)


def _no_schema(exc: BaseException) -> bool:
    """The database or table is not there (yet): `init_schema` has not run on this server."""
    errno = exc.args[0] if exc.args and isinstance(exc.args[0], int) else 0
    return errno in (_ER_BAD_DB_ERROR, ER_NO_SUCH_TABLE)


def _raise_if_duplicate(exc: IntegrityError) -> None:
    # email is the only unique key besides the auto-increment id.
    if exc.args and exc.args[0] == _ER_DUP_ENTRY:
        raise DuplicateEmail("a profile with this email already exists") from exc


def _profile(row: Row) -> Profile:
    profile_id, name, email, bio, created_at, updated_at = row
    return Profile(
        id=int(profile_id),
        name=name,
        email=email,
        bio=bio,
        created_at=utc_timestamp(created_at),
        updated_at=utc_timestamp(updated_at),
    )


def _now() -> datetime:
    # Naive UTC: DATETIME has no zone, and the session time zone must not shift it.
    return datetime.now(UTC).replace(tzinfo=None)
