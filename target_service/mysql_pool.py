"""asyncmy connection pools for the MySQL/MariaDB backend.

`parse_mysql_url` turns `mysql://user:pass@host:port/db` into connection arguments;
`NamedPool` is one asyncmy pool (`master`, `replica0`, ...) that keeps its Prometheus gauges
and query counters current, so the routing code never touches metrics bookkeeping.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar
from urllib.parse import unquote, urlsplit

import asyncmy
from asyncmy.connection import Connection
from asyncmy.errors import InterfaceError, OperationalError

from target_service.metrics import ServiceMetrics
from target_service.settings import SettingsError, display_url
from target_service.storage import StorageUnavailable

# "position": GTID bookkeeping (the master's position, a replica's MASTER_GTID_WAIT).
QueryKind = Literal["read", "write", "position"]
T = TypeVar("T")

# Errors that may mean "this server (or our connection to it) is not answering";
# `unreachable()` tells them apart from the server answering with an error about a statement.
CONNECTION_ERRORS: tuple[type[Exception], ...] = (
    OperationalError,
    InterfaceError,
    OSError,
    TimeoutError,
)
# Server-side OperationalError codes that concern the connection, not the statement: too many
# connections, bad handshake, access denied, shutdown in progress, host blocked or not
# allowed, aborted or killed connection, disconnected by the server. Client-side (CR_*) codes
# are all >= 2000 (2003 refused, 2006 gone away, 2013 lost during query).
_CONNECTION_ERRNOS = frozenset({1040, 1042, 1043, 1045, 1053, 1129, 1130, 1152, 1927, 4031})

DEFAULT_PORT = 3306
# asyncmy's minimum; its default of 10 s would let one dead server stall requests for seconds.
CONNECT_TIMEOUT_S = 1
_DATABASE_NAME = re.compile(r"^[A-Za-z0-9_$]{1,64}$")


class MySQLURLError(SettingsError):
    """A mysql:// URL is malformed; the message says which part."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MySQLAddress:
    """Where one MySQL/MariaDB server is and how to log in."""

    host: str
    port: int
    user: str
    password: str = field(repr=False)
    database: str

    def connect_kwargs(self, *, database: bool = True) -> dict[str, Any]:
        return {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "password": self.password,
            "database": self.database if database else None,
            "charset": "utf8mb4",
            # Reads must not sit in a REPEATABLE READ snapshot on a pooled connection: that
            # would hide rows a replica applied after the snapshot. Writes open transactions.
            "autocommit": True,
            "connect_timeout": CONNECT_TIMEOUT_S,
        }


def parse_mysql_url(url: str) -> MySQLAddress:
    """`mysql://user:pass@host:port/db` -> MySQLAddress; the password may be URL-encoded."""
    shown = display_url(url)
    try:
        parts = urlsplit(url)
        port = parts.port or DEFAULT_PORT
    except ValueError as exc:
        raise MySQLURLError(f"malformed database URL {shown}: {exc}") from None
    if parts.scheme != "mysql":
        raise MySQLURLError(f"expected a mysql:// URL, got {shown}")
    if not parts.hostname:
        raise MySQLURLError(f"database URL {shown} has no host")
    if not parts.username:
        raise MySQLURLError(f"database URL {shown} has no user (mysql://user:pass@host/db)")
    database = unquote(parts.path.lstrip("/"))
    if not _DATABASE_NAME.match(database):
        raise MySQLURLError(
            f"database URL {shown}: database name must be 1-64 letters, digits, _ or $, "
            f"got {database!r}"
        )
    return MySQLAddress(
        host=parts.hostname,
        port=port,
        user=unquote(parts.username),
        password=unquote(parts.password or ""),
        database=database,
    )


def unreachable(exc: BaseException) -> bool:
    """Whether `exc` says the server cannot be used now (vs. an error about the statement)."""
    if isinstance(exc, OperationalError):
        errno = exc.args[0] if exc.args and isinstance(exc.args[0], int) else 0
        return errno >= 2000 or errno in _CONNECTION_ERRNOS
    return isinstance(exc, CONNECTION_ERRORS)


def master_unreachable(address: MySQLAddress, exc: BaseException) -> StorageUnavailable:
    """The error for a master that does not answer; names the server, never a statement."""
    return StorageUnavailable(
        f"the primary database at {address.host}:{address.port} is unreachable "
        f"({describe_error(exc)})"
    )


def describe_error(exc: BaseException) -> str:
    # Driver errors carry (errno, message); connection errors' messages name the host only.
    if len(exc.args) >= 2 and isinstance(exc.args[1], str):
        return exc.args[1]
    return str(exc) or type(exc).__name__


class NamedPool:
    """One asyncmy pool with a name; counts its queries and checked-out connections."""

    def __init__(
        self, name: str, address: MySQLAddress, *, size: int, metrics: ServiceMetrics
    ) -> None:
        self.name = name
        self.address = address
        self.size = size
        self._metrics = metrics
        self._pool: asyncmy.Pool | None = None
        self._in_use = 0
        self._in_use_gauge = metrics.db_pool_in_use.labels(pool=name)
        self._read_seconds = metrics.db_read_seconds.labels(pool=name)

    @property
    def in_use(self) -> int:
        return self._in_use

    async def open(self) -> None:
        # minsize=0: opening never connects, so the service starts while a server is down
        # and /health can say so instead of the process refusing to start.
        self._pool = await asyncmy.create_pool(
            minsize=0, maxsize=self.size, **self.address.connect_kwargs()
        )
        self._metrics.db_pool_size.labels(pool=self.name).set(self.size)
        self._in_use_gauge.set(0)
        # Zero series from the start: a run's first /metrics snapshot is its baseline.
        kinds: tuple[QueryKind, ...] = (
            ("read", "write", "position") if self.name == "master" else ("read", "position")
        )
        for kind in kinds:
            self._metrics.db_queries.labels(pool=self.name, kind=kind)

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        pool.close()
        try:
            async with asyncio.timeout(5.0):
                await pool.wait_closed()
        except TimeoutError:
            pool.terminate()

    def count(self, kind: QueryKind) -> None:
        self._metrics.db_queries.labels(pool=self.name, kind=kind).inc()

    async def timed_read(self, query: Callable[[Connection], Awaitable[T]], conn: Connection) -> T:
        """Run a read query on `conn`, counting it and the time it took."""
        self.count("read")
        started = time.perf_counter()
        try:
            return await query(conn)
        finally:
            self._read_seconds.inc(time.perf_counter() - started)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Connection]:
        """Check out a connection; one that failed mid-conversation is closed, not reused."""
        if self._pool is None:
            raise InterfaceError(0, f"pool {self.name} is not open")
        async with self._pool.acquire() as conn:
            self._in_use += 1
            self._in_use_gauge.inc()
            try:
                yield conn
            except BaseException as exc:
                # After a timeout, a cancellation or a lost connection the protocol state is
                # unknown; closing makes the pool drop the connection on release.
                if isinstance(exc, asyncio.CancelledError) or unreachable(exc):
                    conn.close()
                raise
            finally:
                self._in_use -= 1
                self._in_use_gauge.dec()
