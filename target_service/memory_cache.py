"""The embedded default cache backend: an in-process dict with TTLs and a size bound."""

from __future__ import annotations

import time
from collections.abc import Sequence

from target_service.cache import PageRead
from target_service.list_versions import PageEntry

DEFAULT_MAX_ENTRIES = 200_000


class MemoryCacheBackend:
    """`CacheBackend` in this process's memory; never fails.

    Entries expire lazily on read. When full, the oldest insertion goes first, so hostile
    paging (every page/limit pair) cannot grow memory without bound.
    """

    name = "in-process"

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._entries: dict[str, tuple[float, bytes]] = {}

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        return [self._get(key) for key in keys]

    def _get(self, key: str) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires_at, value = entry
        if expires_at < time.monotonic():
            del self._entries[key]
            return None
        return value

    async def set(self, key: str, value: bytes, ttl_s: float) -> None:
        self._put(key, value, ttl_s)

    def _put(self, key: str, value: bytes, ttl_s: float | None) -> None:
        entries = self._entries
        entries.pop(key, None)
        if len(entries) >= self.max_entries:
            del entries[next(iter(entries))]
        expires_at = float("inf") if ttl_s is None else time.monotonic() + ttl_s
        entries[key] = (expires_at, value)

    async def get_page(self, epoch_key: str, key: str, deps: Sequence[str]) -> PageRead:
        entry = self._get(key)
        parsed = PageEntry.parse(entry)
        if parsed is not None:
            deps = [deps[0], *(dep for dep in parsed.versions if dep != deps[0])]
        return PageRead(self._get(epoch_key), entry, {dep: self._get(dep) for dep in deps})

    async def bump(self, keys: Sequence[str], at_least: int, ttl_s: float | None) -> None:
        for key in keys:
            current = self._get(key)
            version = max(int(current or 0) + 1, at_least)
            self._put(key, str(version).encode(), ttl_s)

    def invalidation_feed(self, local: object) -> None:
        """None: one process holds every instance of this cache, invalidations are local."""
        return None

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
