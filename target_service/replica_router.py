"""Read/write routing over a master pool and replica pools.

Writes and `primary=True` reads go to the master. Other reads go to the least busy replica in
rotation (round-robin among equals). A replica leaves rotation when a read on it fails (the
read is retried on the master, so the caller sees no error) or when a background monitor finds
its replication lag above the limit or replication stopped; reads then fall back to the master.
A failed replica is probed again after `retry_s` and a lagging one every monitor pass, and each
rejoins on its own once healthy.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from asyncmy.connection import Connection
from asyncmy.cursors import DictCursor
from asyncmy.errors import MySQLError, ProgrammingError

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
_PROBE_ERRORS: tuple[type[Exception], ...] = (*CONNECTION_ERRORS, MySQLError)


@dataclass(slots=True)
class ReplicaState:
    """What the router knows about one replica."""

    pool: NamedPool
    in_rotation: bool = False  # until the first probe says it is fresh
    reason: OutReason | None = None
    detail: str = "not checked yet"
    lag_s: float | None = None
    retry_at: float = 0.0


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
    ) -> None:
        self.master = master
        self.replicas = [ReplicaState(pool) for pool in replicas]
        self._metrics = metrics
        self._max_lag_s = max_lag_s
        self._retry_s = retry_s
        self._check_interval_s = check_interval_s
        self._turn = 0
        self._monitor_task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Probe every replica once (so none serves reads before its lag is known), then
        keep probing in the background."""
        for replica in self.replicas:
            self._metrics.replica_in_rotation.labels(pool=replica.pool.name).set(0)
        if self.replicas:
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
        """Run a read on a replica in rotation, or on the master (primary=True or none left)."""
        if primary:
            if self.replicas:
                self._metrics.replica_fallbacks.labels(reason="read_your_writes").inc()
            return await self.on_master(query, "read")
        replica = self._pick_replica()
        if replica is None:
            if self.replicas:
                self._metrics.replica_fallbacks.labels(reason=self._fallback_reason()).inc()
            return await self.on_master(query, "read")
        try:
            async with asyncio.timeout(REPLICA_READ_TIMEOUT_S):
                async with replica.pool.connection() as conn:
                    replica.pool.count("read")
                    return await query(conn)
        except CONNECTION_ERRORS as exc:
            if not unreachable(exc):
                raise
            self._take_out(replica, "down", f"read failed: {describe_error(exc)}")
            self._metrics.replica_fallbacks.labels(reason="down").inc()
            return await self.on_master(query, "read")

    async def write(self, query: Query[T]) -> T:
        return await self.on_master(query, "write")

    async def on_master(self, query: Query[T], kind: QueryKind) -> T:
        try:
            async with self.master.connection() as conn:
                self.master.count(kind)
                return await query(conn)
        except CONNECTION_ERRORS as exc:
            if not unreachable(exc):
                raise
            raise master_unreachable(self.master.address, exc) from exc

    async def check_replicas(self) -> None:
        """One monitor pass: probe every replica that is due and update the rotation."""
        await asyncio.gather(*(self._check(replica) for replica in self.replicas))

    def _pick_replica(self) -> ReplicaState | None:
        candidates = [replica for replica in self.replicas if replica.in_rotation]
        if not candidates:
            return None
        self._turn = (self._turn + 1) % len(candidates)
        ordered = candidates[self._turn :] + candidates[: self._turn]
        # min() keeps the first of equals, so ties rotate.
        return min(ordered, key=lambda replica: replica.pool.in_use)

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

    async def _check(self, replica: ReplicaState) -> None:
        if replica.reason == "down" and time.monotonic() < replica.retry_at:
            return
        try:
            async with asyncio.timeout(PROBE_TIMEOUT_S):
                async with replica.pool.connection() as conn:
                    lag = await replication_lag(conn)
        except _PROBE_ERRORS as exc:
            # A replica whose freshness cannot be measured (down, or e.g. the user lacks the
            # REPLICA MONITOR privilege) must not serve reads; retried after retry_s.
            problem = "unreachable" if unreachable(exc) else "lag probe failed"
            self._take_out(replica, "down", f"{problem}: {describe_error(exc)}")
            return
        replica.lag_s = lag
        if lag is None:
            self._take_out(replica, "lag", "replication is stopped or not configured")
        elif lag > self._max_lag_s:
            self._take_out(replica, "lag", f"lag {lag:g} s exceeds {self._max_lag_s:g} s")
        else:
            self._put_back(replica, f"in rotation, lag {lag:g} s")

    def _take_out(self, replica: ReplicaState, reason: OutReason, detail: str) -> None:
        if replica.in_rotation or replica.reason != reason:
            log.warning("replica %s out of rotation: %s", replica.pool.name, detail)
        replica.in_rotation = False
        replica.reason = reason
        replica.detail = detail
        replica.retry_at = time.monotonic() + self._retry_s
        self._metrics.replica_in_rotation.labels(pool=replica.pool.name).set(0)

    def _put_back(self, replica: ReplicaState, detail: str) -> None:
        if not replica.in_rotation and replica.reason is not None:
            log.warning("replica %s back in rotation", replica.pool.name)
        elif not replica.in_rotation:
            log.info("replica %s in rotation (%s)", replica.pool.name, detail)
        replica.in_rotation = True
        replica.reason = None
        replica.detail = detail
        self._metrics.replica_in_rotation.labels(pool=replica.pool.name).set(1)


async def replication_lag(conn: Connection) -> float | None:
    """Seconds the replica is behind, or None when replication is stopped or not set up.

    `Seconds_Behind_Master` is NULL while either replication thread is stopped: such a replica
    serves ever staler data, so None takes it out of rotation. MySQL 8 names the column
    `Seconds_Behind_Source`; servers older than MariaDB 10.5 only know `SHOW SLAVE STATUS`.
    """
    row: dict[str, Any] | None
    async with conn.cursor(DictCursor) as cursor:
        try:
            await cursor.execute("SHOW REPLICA STATUS")
        except ProgrammingError:
            await cursor.execute("SHOW SLAVE STATUS")
        row = await cursor.fetchone()
    if not row:
        return None
    seconds = row.get("Seconds_Behind_Master", row.get("Seconds_Behind_Source"))
    return None if seconds is None else float(seconds)
