"""The storage interface: the one seam between the API and a database backend.

Two implementations satisfy it: SQLite (embedded default) and MySQL/MariaDB through asyncmy
pools with replica routing. Both raise the same exceptions and return the same records.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol, TypedDict

from rundir.errors import LoadcapError


def utc_timestamp(moment: datetime | None = None) -> str:
    """The timestamp format of `created_at`/`updated_at`: ISO 8601, UTC, microseconds, `Z`
    (`strftime("%Y-%m-%dT%H:%M:%S.%fZ")`, at half its cost: a list page formats 40)."""
    moment = (moment or datetime.now(UTC)).replace(tzinfo=None)
    if moment.year < 1000:  # strftime does not pad the year to four digits; isoformat does
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return moment.isoformat(timespec="microseconds") + "Z"


class Profile(TypedDict):
    id: int
    name: str
    email: str
    bio: str
    created_at: str  # ISO 8601, UTC, e.g. "2026-11-30T08:00:00.123456Z"
    updated_at: str


class NewProfile(TypedDict):
    name: str
    email: str
    bio: str


class DuplicateEmail(LoadcapError):
    """The email belongs to another profile (unique constraint)."""


class StorageUnavailable(LoadcapError):
    """The primary database cannot be reached; the API answers 503."""


@dataclass(frozen=True, slots=True)
class Check:
    """One line of /health: `critical` failures make the service unhealthy, others degraded."""

    name: str
    ok: bool
    critical: bool
    detail: str = ""


class ProfileStore(Protocol):
    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def init_schema(self) -> None:
        """Create the `profiles` table if it is missing (idempotent: `loadcap serve` calls it)."""
        ...

    async def get_profile(self, profile_id: int, *, primary: bool = False) -> Profile | None:
        """`primary=True` reads from the master (read-your-writes); otherwise a replica may.

        The API passes `primary=True` only for read-your-writes reasons (the client wrote
        recently, or the cache entry was invalidated within `read_your_writes_s`), so a store
        with replicas counts `replica_fallbacks{reason="read_your_writes"}` for such reads;
        the API does not count them.
        """
        ...

    async def list_profiles(
        self, *, offset: int, limit: int, primary: bool = False
    ) -> list[Profile]:
        """Profiles ordered by id ascending."""
        ...

    async def create_profile(self, profile: NewProfile) -> Profile: ...

    async def update_profile(self, profile_id: int, changes: Mapping[str, str]) -> Profile | None:
        """Apply changes (a subset of name/email/bio); None when the id does not exist."""
        ...

    async def bulk_insert(self, rows: Iterable[NewProfile]) -> int:
        """Insert many profiles quickly (seeding); returns the number inserted."""
        ...

    async def signing_key(self) -> str | None:
        """The read-your-writes key every instance on this database shares (`signing_key.py`):
        created once if absent, then read back; None while no server can say."""
        ...

    async def checks(self) -> list[Check]: ...
