"""The in-process L1 in front of the shared cache: ready response bodies of recent hits, each
dropped the moment a version key it was validated under is bumped.

An entry is stored only after the shared cache (or a fill) validated it, together with the
version keys it depends on. Invalidations arrive from this instance's own writes (at once)
and, with Redis, from every other instance's writes through `InvalidationFeed` (pub/sub).

Two races are closed here:
- a reader that validated a value before a bump must not store it after the bump was
  applied: every invalidation advances `seq`, each dep remembers the `seq` of its last
  invalidation, and `put(..., since=seq_read_before_the_lookup)` refuses an entry any of
  whose deps (or a flush) moved since;
- invalidations that may have been missed (the feed was down or silent): `usable` is false
  unless the feed confirmed, within `window_s`, that every invalidation published before a
  recent moment has been applied (see invalidation_feed.py); a lost feed flushes everything.
So a hit never serves a value whose invalidation reached Redis more than `window_s` ago.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

EPOCH = "lc:epoch"  # bumping the epoch retires everything


class LocalCache:
    """Bounded (oldest insertion evicted first); entries also expire after their kind's TTL."""

    def __init__(self, max_entries: int, *, window_s: float | None = None) -> None:
        self.max_entries = max_entries
        # None: every invalidation is local (one process, in-process backend): always usable.
        self.window_s = window_s
        self.confirmed_at = float("-inf")  # a moment up to which all invalidations are applied
        self.seq = 0
        self._flushed_at = 0
        self._entries: dict[str, tuple[bytes, float, tuple[str, ...]]] = {}
        self._by_dep: dict[str, set[str]] = {}
        self._dep_seq: dict[str, int] = {}

    @property
    def usable(self) -> bool:
        if self.max_entries <= 0:
            return False
        window = self.window_s
        return window is None or time.monotonic() - self.confirmed_at <= window

    def get(self, key: str) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None or not self.usable:
            return None
        body, expires_at, _ = entry
        if expires_at < time.monotonic():
            self._drop(key)
            return None
        return body

    def put(self, key: str, body: bytes, deps: tuple[str, ...], ttl_s: float, since: int) -> None:
        """Store `body`, validated under `deps` by a lookup that started at `seq == since`."""
        if self.max_entries <= 0 or self._flushed_at > since:
            return
        dep_seq = self._dep_seq
        if any(dep_seq.get(dep, 0) > since for dep in deps):
            return  # invalidated while it was being looked up or loaded
        entries = self._entries
        if key in entries:
            self._drop(key)
        elif len(entries) >= self.max_entries:
            self._drop(next(iter(entries)))
        entries[key] = (body, time.monotonic() + ttl_s, deps)
        for dep in deps:
            self._by_dep.setdefault(dep, set()).add(key)

    def invalidate(self, deps: Iterable[str]) -> None:
        self.seq += 1
        for dep in deps:
            if dep == EPOCH:
                self.flush()
                continue
            self._dep_seq[dep] = self.seq
            for key in tuple(self._by_dep.get(dep, ())):
                self._drop(key)
        if len(self._dep_seq) > 4 * self.max_entries + 1024:
            self.flush()  # bounds the bookkeeping; a flush only costs L1 misses

    def flush(self) -> None:
        """Forget everything (the feed was lost, or the epoch moved)."""
        self.seq += 1
        self._flushed_at = self.seq
        self._entries.clear()
        self._by_dep.clear()
        self._dep_seq.clear()

    def _drop(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is None:
            return
        for dep in entry[2]:
            keys = self._by_dep.get(dep)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._by_dep[dep]

    def __len__(self) -> int:
        return len(self._entries)
