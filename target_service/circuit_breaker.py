"""`CircuitBreaker`: stop calling a failing backend, then probe it once per interval.

    breaker = CircuitBreaker(metrics.cache_errors)
    if breaker.allows():
        try:
            value = await backend.get(key)
        except BackendError:
            breaker.failed()  # counted; no call for `retry_s`
        else:
            breaker.succeeded()

While the backend works the breaker is closed and every call goes through. A failure opens
it: calls are skipped for `retry_s`, then one call per `retry_s` is let through as a probe,
until one succeeds. An outage therefore costs one failed call per interval, not one per
request. The cache and the rate limiter both fail open behind one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

RETRY_S = 1.0


class ErrorCounter(Protocol):
    def inc(self) -> None: ...


class CircuitBreaker:
    def __init__(
        self,
        errors: ErrorCounter,
        *,
        retry_s: float = RETRY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.errors = errors
        self.retry_s = retry_s
        self.clock = clock
        self.closed = True
        self._retry_at = 0.0

    def allows(self) -> bool:
        """Closed, or open with a probe due (this call is the probe: the next is not due
        before another `retry_s`)."""
        if self.closed:
            return True
        now = self.clock()
        if now < self._retry_at:
            return False
        self._retry_at = now + self.retry_s
        return True

    def succeeded(self) -> None:
        self.closed = True

    def failed(self) -> None:
        """Count the failure and open (or keep open) for `retry_s` from now."""
        self.errors.inc()
        self.closed = False
        self._retry_at = self.clock() + self.retry_s
