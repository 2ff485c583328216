"""Which versions guard a cached list page, and how a page entry is stored.

List pages are invalidated by what can change them, not by every write. Pages are ordered by
id ascending with offset paging and profiles are never deleted, so:
- a create appends a row with an id above every existing one: it can only change a *tail*
  page (`has_more` false, including an empty page past the end); a page with `has_more` true
  keeps its rows and its `has_more`. Creates bump `lc:lt`, and only tail pages depend on it;
- a patch of id X changes only pages that show X. Patches bump the bucket
  `lc:lb:{(X - 1) // 20}`, and a page depends on the buckets from its first id to its last,
  so on every bucket that holds one of its ids. Buckets are as wide as the default page and
  aligned with it (ids 1-20, 21-40, ...), so with dense ids a patch misses exactly one
  default-size page. A page spanning more than `MAX_PAGE_BUCKETS` buckets (sparse ids) is
  simply not cached: rare, and always correct;
- every page also depends on `lc:lv`, which no routine write bumps (`invalidate_lists` is
  there to retire every page at once).
A page entry is `<epoch>:<dep>=<version>,...:<body>` (a dep is its key without `lc:` and with
`.` for `:`, e.g. `lb.3`). A lookup is one round trip (the Redis backend runs it as a script
that reads the entry's header and then its deps). A miss reads the deps it predicts before
loading: the stale entry's, or, without one, the buckets a
dense id range would put at that offset, and `lc:lt` always. Deps the loaded page turns out to
have that were not read before the load are read after it, and the page is not cached if any
was bumped since `read_your_writes_s` before the load began (the write might be missing from
what was loaded); nor is it if a pre-read dep that did not choose the primary (`lc:lt` for a
page not known to be a tail) was bumped within that window and the page came from a replica.

One known window: MySQL allocates auto-increment ids before commit, so two concurrent creates
can commit out of id order. A page load between the two commits can see the higher id as the
last row of a full page; when the lower id commits it shifts that row to the next page, but
the page has `has_more` true and does not depend on `lc:lt`, so it may show the shifted row
(and miss the lower one) until its TTL (`list_ttl_s`) expires. SQLite commits one writer at a
time, in id order, so it does not have this window.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from target_service.storage import Profile

LIST_VERSION_KEY = "lc:lv"  # every page; bumped only by `invalidate_lists`
LIST_TAIL_KEY = "lc:lt"  # pages without `has_more`; bumped by every create
# Ids per bucket version `lc:lb:{(id - 1) // LIST_BUCKET}`, bumped by a patch: the default
# page size, so a patch under the benchmark's uniform mix misses one page, not five.
LIST_BUCKET = 20
# A page over more buckets than this (sparse ids) is not cached: its hit check would read
# too many keys, and dense ids (the normal case) put a page of <= 100 rows on <= 6 buckets.
MAX_PAGE_BUCKETS = 8


def bucket_key(profile_id: int) -> str:
    return f"lc:lb:{(profile_id - 1) // LIST_BUCKET}"


def _bucket_keys(first_id: int, last_id: int) -> list[str]:
    first, last = (first_id - 1) // LIST_BUCKET, (last_id - 1) // LIST_BUCKET
    return [f"lc:lb:{bucket}" for bucket in range(first, last + 1)]


def page_deps(items: Sequence[Profile], has_more: bool) -> tuple[str, ...] | None:
    """The version keys a loaded page depends on; None when it spans too many buckets."""
    deps = [LIST_VERSION_KEY] if has_more else [LIST_VERSION_KEY, LIST_TAIL_KEY]
    if items:
        buckets = _bucket_keys(items[0]["id"], items[-1]["id"])
        if len(buckets) > MAX_PAGE_BUCKETS:
            return None
        deps.extend(buckets)
    return tuple(deps)


def guessed_deps(offset: int, limit: int) -> tuple[str, ...]:
    """The deps of the page at `offset` if ids are dense from 1 (seeded, never deleted)."""
    buckets = _bucket_keys(offset + 1, offset + limit)[:MAX_PAGE_BUCKETS]
    return (LIST_VERSION_KEY, *buckets)


@dataclass(frozen=True, slots=True)
class PageEntry:
    """A cached list page: the epoch and dep versions it was stored under, and its body."""

    epoch: bytes
    versions: Mapping[str, bytes]
    body: bytes

    def encode(self) -> bytes:
        header = b",".join(
            b"%b=%b" % (key.removeprefix("lc:").replace(":", ".").encode(), version)
            for key, version in self.versions.items()
        )
        return b"%b:%b:%b" % (self.epoch, header, self.body)

    def is_current(self, epoch: bytes, seen: Mapping[str, bytes]) -> bool:
        return self.epoch == epoch and all(seen[k] == v for k, v in self.versions.items())

    @classmethod
    def parse(cls, stored: bytes | None) -> PageEntry | None:
        """None for no entry or one this code did not write (then it is just a miss)."""
        if stored is None:
            return None
        epoch, _, rest = stored.partition(b":")
        header, found, body = rest.partition(b":")
        versions: dict[str, bytes] = {}
        for dep in header.split(b","):
            token, equals, version = dep.partition(b"=")
            if not (found and equals and version.isdigit()):
                return None
            versions["lc:" + token.decode("ascii", "replace").replace(".", ":")] = version
        return cls(epoch, versions, body)


@dataclass(frozen=True, slots=True)
class LoadedPage:
    body: bytes
    deps: tuple[str, ...] | None  # None: do not cache (see `page_deps`)
