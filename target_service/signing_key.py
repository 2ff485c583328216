"""The fleet's read-your-writes signing key, kept in the database every instance shares.

A client's read-your-writes position is HMAC-signed by the instance that took its write and
verified by whichever instance takes its next read, so every instance behind one load
balancer needs the same key. `LOADCAP_READ_YOUR_WRITES_SECRET` gives one explicitly; unset,
the key lives in the `signing_keys` table of the service's own database (created with the
schema): the first instance to start inserts a random one with an atomic insert-if-absent,
so instances starting together agree, and every instance reads it back at start. The key is
never logged nor served; anyone who can read the database can read it, as they can read the
data it protects.

Rotation: replace the row (`UPDATE signing_keys SET secret = '<64 new hex digits>' WHERE
name = 'read_your_writes'`) and restart the instances. Until all have restarted, and for
`read_your_writes_s` after, a position signed with the other key does not verify: such a
client that just wrote reads as one that did not (bounded by `replica_max_lag_s`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # the embedded default must not pay for importing the MySQL driver
    from asyncmy.connection import Connection

KEY_NAME = "read_your_writes"
ER_NO_SUCH_TABLE = 1146
MYSQL_TABLE = """
CREATE TABLE IF NOT EXISTS signing_keys (
    name VARCHAR(64) NOT NULL PRIMARY KEY,
    secret VARCHAR(128) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=ascii
"""
SQLITE_TABLE = """
CREATE TABLE IF NOT EXISTS signing_keys (
    name TEXT NOT NULL PRIMARY KEY,
    secret TEXT NOT NULL
)
"""
SELECT_KEY = "SELECT secret FROM signing_keys WHERE name = %s"
# Atomic insert-if-absent that never replaces an existing key and, unlike INSERT IGNORE,
# raises no warning when the row exists.
MYSQL_INSERT_KEY = (
    "INSERT INTO signing_keys (name, secret) VALUES (%s, %s) ON DUPLICATE KEY UPDATE name = name"
)
SQLITE_INSERT_KEY = "INSERT OR IGNORE INTO signing_keys (name, secret) VALUES (?, ?)"
SQLITE_SELECT_KEY = "SELECT secret FROM signing_keys WHERE name = ?"

log = logging.getLogger("target_service.signing_key")


def new_key() -> str:
    return secrets.token_hex(32)


async def mysql_stored_key(conn: Connection) -> str | None:
    """The key in the `signing_keys` table `conn` sees (a replica's is the master's copy)."""
    async with conn.cursor() as cursor:
        await cursor.execute(SELECT_KEY, (KEY_NAME,))
        row = await cursor.fetchone()
    return None if row is None else str(row[0])


async def mysql_created_key(conn: Connection) -> str:
    """The key on the master: created, with its table, if absent (concurrent callers all get
    the one stored)."""
    from asyncmy.errors import ProgrammingError

    try:
        key = await mysql_stored_key(conn)
    except ProgrammingError as exc:
        if not (exc.args and exc.args[0] == ER_NO_SUCH_TABLE):
            raise
        key = None
        async with conn.cursor() as cursor:
            await cursor.execute(MYSQL_TABLE)
    if key is not None:
        return key
    async with conn.cursor() as cursor:
        await cursor.execute(MYSQL_INSERT_KEY, (KEY_NAME, new_key()))
    key = await mysql_stored_key(conn)
    if key is None:  # a concurrent DELETE between the two statements
        raise RuntimeError("the signing key vanished while it was being created")
    return key


class KeyStore(Protocol):
    async def signing_key(self) -> str | None: ...


class KeyUser(Protocol):
    def use_key(self, key: str) -> None: ...


@contextlib.asynccontextmanager
async def shared_key(store: KeyStore, user: KeyUser, *, retry_s: float) -> AsyncIterator[None]:
    """Give `user` the database's key for the life of the block. When no database answers at
    start, `user` keeps its own random key (its positions verify on this instance only) and
    the key is fetched again every `retry_s` in the background until it loads."""
    key = await store.signing_key()
    task = None
    if key is not None:
        user.use_key(key)
    else:
        log.warning(
            "the read-your-writes signing key could not be read from the database; until it "
            "can, positions this instance signs verify on this instance only"
        )
        task = asyncio.create_task(_load_later(store, user, retry_s), name="signing-key")
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def _load_later(store: KeyStore, user: KeyUser, retry_s: float) -> None:
    while True:
        await asyncio.sleep(max(retry_s, 0.5))
        try:
            key = await store.signing_key()
        except Exception as exc:  # e.g. no privilege to create it: say so, keep trying
            log.warning("reading the read-your-writes signing key failed: %s", type(exc).__name__)
            continue
        if key is not None:
            user.use_key(key)
            log.info("read-your-writes signing key loaded from the database")
            return
