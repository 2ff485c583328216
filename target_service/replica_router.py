"""Read/write routing over a master pool and replica pools.

Writes go to the master. Reads go to the least busy replica in rotation (round-robin among
equals). A replica leaves rotation when a read on it fails (the read is retried on the master,
so the caller sees no error) or when a background monitor finds its replication lag above the
limit or replication stopped; reads then fall back to the master. A failed replica is probed
again after `retry_s` and a lagging one every monitor pass, and each rejoins on its own.

Causal reads (`causal=True`, MariaDB GTIDs): after each write the router reads the session's
`@@last_gtid` and reports it through `gtid.record`, so the API can hand it to the client. A
read that must observe a position (`gtid.required()`, or `primary=True`: "everything the
master has committed now", e.g. a cache fill right after an invalidation) goes to a replica
known to have applied it (the monitor reads every replica's `@@gtid_slave_pos`), else to the
least-lagging replica after `MASTER_GTID_WAIT(position, GTID_WAIT_S)`, and to the master only
when no replica has it within that bound. Without causal reads `primary=True` means the master.

A master outage does not take reads down: a replica whose replication IO thread lost its
master while the router cannot reach the master either holds the last state the master
shipped, so it stays in rotation for up to `max_stale_s` (its age is shown in /health). A
replica disconnected from a master the router *can* reach is falling behind live writes and
leaves rotation until it reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from asyncmy.connection import Connection
from asyncmy.cursors import DictCursor
from asyncmy.errors import MySQLError, ProgrammingError

from target_service import gtid
from target_service.gtid import GtidPosition
from target_service.metrics import ServiceMetrics
from target_service.mysql_pool import (
    CONNECTION_ERRORS,
    NamedPool,
    QueryKind,
    describe_error,
    master_unreachable,
    unreachable,
)

log = logging.getLogger(__name__)

T = TypeVar("T")
Query = Callable[[Connection], Awaitable[T]]
OutReason = Literal["down", "lag"]
FALLBACK_REASONS = ("down", "lag", "read_your_writes")

# A replica read slower than this is treated as a failed replica: the master answers instead.
REPLICA_READ_TIMEOUT_S = 2.0
PROBE_TIMEOUT_S = 2.0
# How long a causal read waits for a replica to apply its position before asking the master.
GTID_WAIT_S = 0.1
_PROBE_ERRORS: tuple[type[Exception], ...] = (*CONNECTION_ERRORS, MySQLError)
_ER_UNKNOWN_SYSTEM_VARIABLE = 1193


@dataclass(slots=True)
class ReplicaState:
    """What the router knows about one replica."""

    pool: NamedPool
    in_rotation: bool = False  # until the first probe says it is fresh
    reason: OutReason | None = None
    detail: str = "not checked yet"
    lag_s: float | None = None
    retry_at: float = 0.0
    position: GtidPosition | None = None  # applied at least this (probe or a finished wait)
    delay_s: float = 0.0  # MASTER_DELAY: such a replica is never waited on
    orphaned_at: float | None = None  # monotonic time its data stopped following the master
    down_at: float = 0.0  # monotonic time it last failed


@dataclass(frozen=True, slots=True)
class ReplicationStatus:
    """One replica's SHOW REPLICA STATUS, reduced to what routing needs."""

    lag_s: float | None
    io_running: bool
    sql_running: bool
    delay_s: float
    position: GtidPosition | None


class ReplicaRouter:
    """Send each query to the right pool and keep the replica rotation current."""

    def __init__(
        self,
        master: NamedPool,
        replicas: Sequence[NamedPool],
        *,
        metrics: ServiceMetrics,
        max_lag_s: float,
        retry_s: float,
        check_interval_s: float = 1.0,
        causal: bool = False,
        max_stale_s: float = 300.0,
    ) -> None:
        self.master = master
        self.replicas = [ReplicaState(pool) for pool in replicas]
        self.causal = causal
        self.master_reachable = True
        self._metrics = metrics
        self._max_lag_s = max_lag_s
        self._max_stale_s = max_stale_s
        self.retry_s = retry_s
        self._check_interval_s = check_interval_s
        self._turn = 0
        self._monitor_task: asyncio.Task[None] | None = None
        self._master_position = _MasterPosition(self)

    async def start(self) -> None:
        """Probe every replica once (so none serves reads before its lag is known), then
        keep probing in the background."""
        for replica in self.replicas:
            self._metrics.replica_in_rotation.labels(pool=replica.pool.name).set(0)
        if self.replicas:
            self._metrics.replica_max_lag.set(self._max_lag_s)
            # Series exist from the first scrape, so a run's start snapshot has the zeros its
            # deltas are computed from.
            for reason in FALLBACK_REASONS:
                self._metrics.replica_fallbacks.labels(reason=reason)
        if self.replicas and self._monitor_task is None:
            await self.check_replicas()
            self._monitor_task = asyncio.create_task(self._monitor(), name="replica-monitor")

    async def stop(self) -> None:
        task, self._monitor_task = self._monitor_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def read(self, query: Query[T], *, primary: bool = False) -> T:
        """Run a read on a replica that can answer it, or on the master."""
        if not self.replicas:
            return await self.on_master(query, "read")
        if primary and not self.causal:
            self._metrics.replica_fallbacks.labels(reason="read_your_writes").inc()
            return await self.on_master(query, "read")
        need = gtid.required() if self.causal else None
        if primary:
            now = await self._master_position.after_now()
            if now is None and self.master_reachable:
                # The master answers but cannot say where it is (e.g. it has no GTIDs).
                self._metrics.replica_fallbacks.labels(reason="read_your_writes").inc()
                return await self.on_master(query, "read")
            # None: the master is unreachable; the replicas hold all that survives of it.
            if now is not None:
                need = now if need is None else need.merged(now)
        if need is not None and need.domains:
            return await self._causal_read(query, need)
        replica = self._pick_replica()
        if replica is None:
            self._metrics.replica_fallbacks.labels(reason=self._fallback_reason()).inc()
            return await self.on_master(query, "read")
        return await self._on_replica(replica, query)

    async def write(self, query: Query[T]) -> T:
        if not self.causal:
            return await self.on_master(query, "write")

        async def write_and_locate(conn: Connection) -> T:
            result = await query(conn)
            position = await _last_gtid(conn)
            if position is not None:
                gtid.record(position)
            return result

        return await self.on_master(write_and_locate, "write")

    async def on_master(self, query: Query[T], kind: QueryKind) -> T:
        try:
            async with self.master.connection() as conn:
                if kind == "read":
                    result = await self.master.timed_read(query, conn)
                else:
                    self.master.count(kind)
                    result = await query(conn)
        except CONNECTION_ERRORS as exc:
            if not unreachable(exc):
                raise
            self.master_reachable = False
            raise master_unreachable(self.master.address, exc) from exc
        self.master_reachable = True
        return result

    async def check_replicas(self) -> None:
        """One monitor pass: probe the replicas, then the master, then update the rotation.

        The master is probed last: a replica that saw its master vanish before the master
        probe ran is then judged against a master known to be gone.
        """
        started = time.monotonic()
        statuses = await asyncio.gather(*(self._probe(replica) for replica in self.replicas))
        await self._master_position.probe()
        for replica, status in zip(self.replicas, statuses, strict=True):
            # A read that failed while this pass was under way knows better than its probe.
            if status is not None and replica.down_at <= started:
                self._judge(replica, status)

    def _pick_replica(self, among: Sequence[ReplicaState] | None = None) -> ReplicaState | None:
        candidates = [r for r in (self.replicas if among is None else among) if r.in_rotation]
        if not candidates:
            return None
        return min(self._rotated(candidates), key=lambda replica: replica.pool.in_use)

    def _rotated(self, candidates: Sequence[ReplicaState]) -> list[ReplicaState]:
        """`candidates` from one further along each call: min() keeps the first of equals,
        so ties take turns."""
        self._turn = (self._turn + 1) % len(candidates)
        return [*candidates[self._turn :], *candidates[: self._turn]]

    def _read_failed(self, replica: ReplicaState, exc: Exception) -> None:
        """A replica read raised `exc`: an unreachable replica leaves rotation (the caller
        then falls back to the master); any other error is the read's own and is raised."""
        if not unreachable(exc):
            raise exc
        self._take_out(replica, "down", f"read failed: {describe_error(exc)}")

    async def _on_replica(self, replica: ReplicaState, query: Query[T]) -> T:
        # Inline, not behind a context-manager helper: this is every replica read.
        try:
            async with asyncio.timeout(REPLICA_READ_TIMEOUT_S), replica.pool.connection() as conn:
                return await replica.pool.timed_read(query, conn)
        except CONNECTION_ERRORS as exc:
            self._read_failed(replica, exc)
        self._metrics.replica_fallbacks.labels(reason="down").inc()
        return await self.on_master(query, "read")

    async def _causal_read(self, query: Query[T], need: GtidPosition) -> T:
        """A replica that has applied `need`, one that applies it within GTID_WAIT_S, or the
        master."""
        having = [r for r in self.replicas if r.position is not None and r.position.covers(need)]
        replica = self._pick_replica(having)
        if replica is not None:
            return await self._on_replica(replica, query)
        waitable = [r for r in self.replicas if r.in_rotation and r.delay_s == 0]
        if waitable:
            replica = min(self._rotated(waitable), key=lambda r: (r.lag_s or 0.0, r.pool.in_use))
            try:
                async with (
                    asyncio.timeout(REPLICA_READ_TIMEOUT_S),
                    replica.pool.connection() as conn,
                ):
                    replica.pool.count("position")
                    if await _gtid_wait(conn, need, GTID_WAIT_S):
                        replica.position = (
                            need if replica.position is None else replica.position.merged(need)
                        )
                        return await replica.pool.timed_read(query, conn)
            except CONNECTION_ERRORS as exc:
                self._read_failed(replica, exc)
        self._metrics.replica_fallbacks.labels(reason="read_your_writes").inc()
        return await self.on_master(query, "read")

    def _fallback_reason(self) -> OutReason:
        reasons = {replica.reason for replica in self.replicas}
        return "down" if "down" in reasons else "lag"

    async def _monitor(self) -> None:
        while True:
            await asyncio.sleep(self._check_interval_s)
            try:
                await self.check_replicas()
            except Exception:
                # The monitor must outlive any surprise, or replicas would never rejoin.
                log.exception("replica monitor pass failed")

    async def _probe(self, replica: ReplicaState) -> ReplicationStatus | None:
        if replica.reason == "down" and time.monotonic() < replica.retry_at:
            return None
        try:
            async with asyncio.timeout(PROBE_TIMEOUT_S):
                async with replica.pool.connection() as conn:
                    return await replication_status(conn)
        except _PROBE_ERRORS as exc:
            # A replica whose freshness cannot be measured (down, or e.g. the user lacks the
            # REPLICA MONITOR privilege) must not serve reads; retried after retry_s.
            problem = "unreachable" if unreachable(exc) else "lag probe failed"
            self._take_out(replica, "down", f"{problem}: {describe_error(exc)}")
            return None

    def _judge(self, replica: ReplicaState, status: ReplicationStatus) -> None:
        replica.delay_s = status.delay_s
        if status.position is not None:
            replica.position = status.position
        lag = status.lag_s
        if status.io_running and status.sql_running and lag is not None:
            replica.lag_s = lag
            self._metrics.replica_lag.labels(pool=replica.pool.name).set(lag)
            replica.orphaned_at = None
            if lag > self._max_lag_s:
                self._take_out(replica, "lag", f"lag {lag:g} s exceeds {self._max_lag_s:g} s")
            else:
                self._put_back(replica, f"in rotation, lag {lag:g} s")
            return
        if not status.sql_running:
            replica.lag_s = None
            replica.orphaned_at = None
            self._take_out(replica, "lag", "replication is stopped or not configured")
            return
        # The IO thread is not connected to the master; the replica's data stops ageing only
        # if the master has stopped too.
        replica.lag_s = None
        if self.master_reachable:
            replica.orphaned_at = None
            self._take_out(replica, "lag", "replication is disconnected from a reachable master")
            return
        if replica.orphaned_at is None:
            replica.orphaned_at = time.monotonic() - self._check_interval_s
        stale_s = time.monotonic() - replica.orphaned_at
        if stale_s > self._max_stale_s:
            self._take_out(
                replica,
                "lag",
                f"master unreachable for {stale_s:.0f} s, beyond {self._max_stale_s:g} s",
            )
        else:
            self._put_back(
                replica,
                f"master unreachable: serving data up to {stale_s:.0f} s old "
                f"(limit {self._max_stale_s:g} s)",
            )

    def _take_out(self, replica: ReplicaState, reason: OutReason, detail: str) -> None:
        if replica.in_rotation or replica.reason != reason:
            log.warning("replica %s out of rotation: %s", replica.pool.name, detail)
        replica.in_rotation = False
        if reason == "down":
            replica.down_at = time.monotonic()
        replica.reason = reason
        replica.detail = detail
        replica.retry_at = time.monotonic() + self.retry_s
        self._metrics.replica_in_rotation.labels(pool=replica.pool.name).set(0)

    def _put_back(self, replica: ReplicaState, detail: str) -> None:
        if not replica.in_rotation and replica.reason is not None:
            log.warning("replica %s back in rotation (%s)", replica.pool.name, detail)
        elif not replica.in_rotation:
            log.info("replica %s in rotation (%s)", replica.pool.name, detail)
        replica.in_rotation = True
        replica.reason = None
        replica.detail = detail
        self._metrics.replica_in_rotation.labels(pool=replica.pool.name).set(1)


class _MasterPosition:
    """The master's `@@gtid_binlog_pos`, read for the monitor and for "fresh" reads.

    `after_now()` answers with a position read *after* it was called, so it covers every
    write committed before the call (e.g. the one whose cache invalidation the caller saw).
    Callers arriving while a read is in flight wait for it and share the next one: at most
    one such query is in flight, however many fills need it.
    """

    def __init__(self, router: ReplicaRouter) -> None:
        self._router = router
        self._fetch: asyncio.Task[GtidPosition | None] | None = None
        self._fetch_started = 0.0
        self._failed_at = -math.inf

    async def after_now(self) -> GtidPosition | None:
        """None while the master is unreachable (asked again after `retry_s`)."""
        called = time.monotonic()
        router = self._router
        if not router.master_reachable and called - self._failed_at < router.retry_s:
            return None
        while True:
            fetch = self._fetch
            if fetch is not None and self._fetch_started >= called:
                return await asyncio.shield(fetch)
            if fetch is not None and not fetch.done():
                await asyncio.wait({fetch})
                continue
            self._fetch_started = time.monotonic()
            self._fetch = asyncio.create_task(self._read(count=True))
            self._fetch.add_done_callback(_retrieve)

    async def probe(self) -> None:
        """The monitor's pass: whether the master answers (its position is not needed)."""
        await self._read(count=False)

    async def _read(self, *, count: bool) -> GtidPosition | None:
        router = self._router
        try:
            async with asyncio.timeout(PROBE_TIMEOUT_S):
                async with router.master.connection() as conn:
                    if count:
                        router.master.count("position")
                    async with conn.cursor() as cursor:
                        await cursor.execute("SELECT @@gtid_binlog_pos")
                        row = await cursor.fetchone()
        except _PROBE_ERRORS as exc:
            if unreachable(exc):
                router.master_reachable = False
                self._failed_at = time.monotonic()
                return None
            router.master_reachable = True
            errno = exc.args[0] if exc.args else None
            if errno == _ER_UNKNOWN_SYSTEM_VARIABLE and router.causal:
                # e.g. MySQL, which has no @@gtid_binlog_pos: no causal reads on this server.
                log.warning("causal reads off: no GTID position (%s)", describe_error(exc))
                router.causal = False
            return None
        router.master_reachable = True
        text = str(row[0] or "") if row else ""
        return GtidPosition.parse(text) or GtidPosition()


def _retrieve(task: asyncio.Task[GtidPosition | None]) -> None:
    # A failed fetch nobody awaited any more must not be reported as "never retrieved".
    if not task.cancelled():
        task.exception()


async def _last_gtid(conn: Connection) -> GtidPosition | None:
    """The GTID of the session's last transaction; None when the server does not say.

    The write has committed by now: a failure here must not turn it into an error."""
    try:
        async with conn.cursor() as cursor:
            await cursor.execute("SELECT @@last_gtid")
            row = await cursor.fetchone()
    except _PROBE_ERRORS as exc:
        log.debug("no @@last_gtid after a write: %s", describe_error(exc))
        return None
    return GtidPosition.parse(str(row[0] or "")) if row else None


async def _gtid_wait(conn: Connection, position: GtidPosition, timeout_s: float) -> bool:
    """MASTER_GTID_WAIT: whether the replica applied `position` within `timeout_s`."""
    async with conn.cursor() as cursor:
        await cursor.execute("SELECT MASTER_GTID_WAIT(%s, %s)", (position.format(), timeout_s))
        row = await cursor.fetchone()
    return bool(row) and row[0] == 0


async def replication_status(conn: Connection) -> ReplicationStatus:
    """What SHOW REPLICA STATUS says about this replica (both threads stopped when
    replication is not set up).

    `Seconds_Behind_Master` is NULL while either replication thread is stopped or the IO
    thread is reconnecting. MySQL 8 names the columns `*_Source`/`Replica_*`; servers older
    than MariaDB 10.5 only know `SHOW SLAVE STATUS`. The applied position is MariaDB's
    `@@gtid_slave_pos` (None on servers without it).
    """
    row: dict[str, Any] | None
    async with conn.cursor(DictCursor) as cursor:
        try:
            await cursor.execute("SHOW REPLICA STATUS")
        except ProgrammingError:
            await cursor.execute("SHOW SLAVE STATUS")
        row = await cursor.fetchone()
    if not row:
        return ReplicationStatus(None, False, False, 0.0, None)
    position: GtidPosition | None = None
    with contextlib.suppress(MySQLError):
        async with conn.cursor() as cursor:
            await cursor.execute("SELECT @@gtid_slave_pos")
            found = await cursor.fetchone()
        position = GtidPosition.parse(str(found[0] or "")) if found else None
    seconds = row.get("Seconds_Behind_Master", row.get("Seconds_Behind_Source"))
    io = row.get("Slave_IO_Running", row.get("Replica_IO_Running"))
    sql = row.get("Slave_SQL_Running", row.get("Replica_SQL_Running"))
    return ReplicationStatus(
        lag_s=None if seconds is None else float(seconds),
        io_running=io == "Yes",
        sql_running=sql == "Yes",
        delay_s=float(row.get("SQL_Delay") or 0),
        position=position,
    )
