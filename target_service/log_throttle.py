"""Logging a repeated error once, then counting it: an outage must not write a traceback per
request (a master outage under load wrote 4 to 17 MB of log in 8 s).

    throttle = LogThrottle(log, interval_s=10.0)
    throttle.warning("database unavailable", exc)

The first occurrence of an error class (message + exception type) is logged with its
traceback. Later ones within `interval_s` are only counted; the first one after the interval
logs one line (no traceback) with how many there were, and starts a new interval. So one
error class writes at most one line per interval, whatever the request rate; after a quiet
interval the next occurrence is logged whole again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

DEFAULT_INTERVAL_S = 10.0


class LogThrottle:
    def __init__(
        self,
        logger: logging.Logger,
        *,
        interval_s: float = DEFAULT_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.interval_s = interval_s
        self.clock = clock
        self._next_at: dict[tuple[str, str], float] = {}
        self._suppressed: dict[tuple[str, str], int] = {}

    def warning(self, message: str, exc: BaseException) -> None:
        self._log(logging.WARNING, message, exc)

    def error(self, message: str, exc: BaseException) -> None:
        self._log(logging.ERROR, message, exc)

    def _log(self, level: int, message: str, exc: BaseException) -> None:
        cause = exc.__cause__ or exc
        key = (message, f"{type(exc).__name__}/{type(cause).__name__}")
        now = self.clock()
        next_at = self._next_at.get(key)
        if next_at is not None and now < next_at:
            self._suppressed[key] = self._suppressed.get(key, 0) + 1
            return
        self._next_at[key] = now + self.interval_s
        suppressed = self._suppressed.pop(key, 0)
        if not suppressed:  # first of its class, or first after a quiet interval
            self.logger.log(level, "%s (%s)", message, _describe(exc), exc_info=exc)
            return
        self.logger.log(
            level,
            "%s (%s): %d more since the last report, not logged one by one",
            message,
            _describe(exc),
            suppressed + 1,
        )


def _describe(exc: BaseException) -> str:
    cause = exc.__cause__
    text = f"{type(exc).__name__}: {exc}"
    return text if cause is None else f"{text}; caused by {type(cause).__name__}: {cause}"
