"""MariaDB GTID positions, and the position the current request must observe.

A MariaDB position is one `domain-server-seq` per replication domain (`0-11-42,1-11-7`);
within a domain sequence numbers only grow (gtid_strict_mode), so a server has applied a
transaction `D-S-N` exactly when its position holds domain D at a sequence >= N.

Positions travel with the request in context variables rather than through every store and
cache signature: `requiring(position)` marks what the request's reads must observe (the
client's last write, from its cookie), and `recording()` collects the position of the writes
the request makes, which `ReplicaRouter` reports through `record()`. Both are set for one
block only, so nothing leaks into the next request handled by the same task.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping
from contextvars import ContextVar, Token
from dataclasses import dataclass, field

# Bounded on purpose: a position arrives from clients (cookie, header) and the database.
_GTID = re.compile(r"(\d{1,10})-(\d{1,10})-(\d{1,20})")
MAX_DOMAINS = 16


@dataclass(frozen=True, slots=True)
class GtidPosition:
    """domain -> (server id, sequence number)."""

    domains: Mapping[int, tuple[int, int]] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str, *, separator: str = ",") -> GtidPosition | None:
        """`0-11-42,1-11-7` -> a position; None for anything else (including empty)."""
        parts = text.strip().split(separator) if text.strip() else []
        if not parts or len(parts) > MAX_DOMAINS:
            return None
        domains: dict[int, tuple[int, int]] = {}
        for part in parts:
            match = _GTID.fullmatch(part.strip())
            if match is None:
                return None
            domain, server, seq = (int(group) for group in match.groups())
            if domain in domains:
                return None
            domains[domain] = (server, seq)
        return cls(domains)

    def covers(self, other: GtidPosition) -> bool:
        """Whether a server at this position has applied every transaction of `other`."""
        return all(
            domain in self.domains and self.domains[domain][1] >= seq
            for domain, (_, seq) in other.domains.items()
        )

    def merged(self, other: GtidPosition) -> GtidPosition:
        """The later of the two, domain by domain."""
        domains = dict(self.domains)
        for domain, (server, seq) in other.domains.items():
            if domain not in domains or domains[domain][1] < seq:
                domains[domain] = (server, seq)
        return GtidPosition(domains)

    def format(self, separator: str = ",") -> str:
        return separator.join(
            f"{domain}-{server}-{seq}" for domain, (server, seq) in sorted(self.domains.items())
        )


class WrittenPosition:
    """What `recording()` yields: the position after the request's writes, if known."""

    def __init__(self) -> None:
        self.position: GtidPosition | None = None


_required: ContextVar[GtidPosition | None] = ContextVar("loadcap_required_gtid", default=None)
_written: ContextVar[WrittenPosition | None] = ContextVar("loadcap_written_gtid", default=None)


class _Requiring:
    def __init__(self, position: GtidPosition) -> None:
        self.position = position
        self._token: Token[GtidPosition | None] | None = None

    def __enter__(self) -> None:
        self._token = _required.set(self.position)

    def __exit__(self, *exc: object) -> None:
        assert self._token is not None
        _required.reset(self._token)


_NO_REQUIREMENT = contextlib.nullcontext()


def requiring(position: GtidPosition | None) -> contextlib.AbstractContextManager[None]:
    """Reads inside the block must observe `position`. None (most reads: the client sent no
    position) requires nothing: each request runs in its own context, which starts without a
    requirement, so there is nothing to set."""
    return _NO_REQUIREMENT if position is None else _Requiring(position)


def required() -> GtidPosition | None:
    return _required.get()


@contextlib.contextmanager
def recording() -> Iterator[WrittenPosition]:
    """Collect the position of the writes made inside the block."""
    written = WrittenPosition()
    token = _written.set(written)
    try:
        yield written
    finally:
        _written.reset(token)


def record(position: GtidPosition) -> None:
    """Called by the router after a write committed at `position`."""
    written = _written.get()
    if written is not None:
        written.position = (
            position if written.position is None else written.position.merged(position)
        )
