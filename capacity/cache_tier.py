"""Redis memory: live keys x value size, against the cache node's usable memory.

Cache-aside with TTLs bounds the live keys: no more profiles than were read within one
profile TTL, no more list pages than were requested within one list TTL.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from capacity.errors import CapacityInputError
from capacity.figures import Figure
from capacity.pricing import PriceBook
from capacity.workload import Workload

GIB = 1024**3
# Per-key cost beyond the value: key string, dict entry, object header and expiry (~100 B).
REDIS_KEY_OVERHEAD_BYTES = 100
# ElastiCache's reserved-memory-percent default keeps 25% for replication and snapshots.
ELASTICACHE_USABLE_SHARE = 0.75
ASSUMED_ROW_BYTES = Figure(400.0, "assumed; pass --row-bytes or --sqlite-db to measure")


@dataclass(frozen=True, kw_only=True)
class CacheAssumptions:
    node_type: str = "cache.r6g.large"
    profile_ttl_s: float = 300.0  # the seed's TTLs
    list_ttl_s: float = 60.0
    row_bytes: Figure = ASSUMED_ROW_BYTES  # one profile as cached JSON
    page_size: int = 20
    profiles: int | None = None  # rows in the table, when known, caps the live keys

    def __post_init__(self) -> None:
        if self.row_bytes.value <= 0 or self.page_size < 1:
            raise CapacityInputError("row bytes and page size must be positive")
        if self.profile_ttl_s < 0 or self.list_ttl_s < 0:
            raise CapacityInputError("cache TTLs must be 0 or more")


@dataclass(frozen=True, kw_only=True)
class CacheTier:
    node_type: str
    profile_keys: int
    list_keys: int
    memory_bytes: float
    usable_bytes: float
    warning: str | None

    @property
    def share_of_usable(self) -> float:
        return self.memory_bytes / self.usable_bytes


def size_cache(
    workload: Workload, *, book: PriceBook, region: str, assumptions: CacheAssumptions
) -> CacheTier:
    a = assumptions
    get_rps = workload.target_rps * workload.mix.share("get")
    list_rps = workload.target_rps * workload.mix.share("list")
    profile_keys = math.ceil(get_rps * a.profile_ttl_s)
    list_keys = math.ceil(list_rps * a.list_ttl_s)
    if a.profiles is not None:
        profile_keys = min(profile_keys, a.profiles)
        list_keys = min(list_keys, max(1, math.ceil(a.profiles / a.page_size)))
    row_bytes = a.row_bytes.value
    memory = profile_keys * (row_bytes + REDIS_KEY_OVERHEAD_BYTES) + list_keys * (
        a.page_size * row_bytes + REDIS_KEY_OVERHEAD_BYTES
    )
    usable = book.cache_node(region, a.node_type).memory_gib * GIB * ELASTICACHE_USABLE_SHARE
    warning = None
    if memory > usable:
        warning = (
            f"Redis needs ~{memory / GIB:.1f} GiB but one {a.node_type} offers "
            f"{usable / GIB:.1f} GiB usable: shard the cache or pick a larger node"
        )
    return CacheTier(
        node_type=a.node_type,
        profile_keys=profile_keys,
        list_keys=list_keys,
        memory_bytes=memory,
        usable_bytes=usable,
        warning=warning,
    )
