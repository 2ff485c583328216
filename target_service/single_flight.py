"""One load per key at a time in this process; concurrent callers share its result."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable


class SingleFlight:
    """At most one load per key at a time in this process; concurrent callers share its result.

    The load runs in its own task so a caller that goes away (client disconnect) does not
    cancel it for the others.
    """

    def __init__(self) -> None:
        self._flights: dict[object, asyncio.Task[bytes | None]] = {}
        self.waiting = 0  # callers awaiting a flight right now (observability, tests)

    async def run(self, key: object, load: Callable[[], Awaitable[bytes | None]]) -> bytes | None:
        task = self._flights.get(key)
        if task is None:
            task = asyncio.ensure_future(load())
            self._flights[key] = task
            task.add_done_callback(lambda done: self._finish(key, done))
        self.waiting += 1
        try:
            return await asyncio.shield(task)
        finally:
            self.waiting -= 1

    def _finish(self, key: object, task: asyncio.Task[bytes | None]) -> None:
        self._flights.pop(key, None)
        if not task.cancelled():
            task.exception()  # mark retrieved: waiters may all be gone

    def __len__(self) -> int:
        return len(self._flights)
