"""The traffic a plan is sized for: target rate, endpoint mix and cache hit ratio."""

from __future__ import annotations

import math
from dataclasses import dataclass

from capacity.errors import CapacityInputError
from capacity.sizing import check_positive
from rundir.mix import Mix

SECONDS_PER_DAY = 86_400

SEED_MIX = Mix()
SEED_CACHE_HIT_RATIO = 0.70


@dataclass(frozen=True, kw_only=True)
class Workload:
    target_rps: float
    mix: Mix = SEED_MIX
    cache_hit_ratio: float = SEED_CACHE_HIT_RATIO

    def __post_init__(self) -> None:
        check_positive("target_rps", self.target_rps)
        if not math.isfinite(self.cache_hit_ratio) or not 0 <= self.cache_hit_ratio <= 1:
            raise CapacityInputError(
                f"cache hit ratio must be in [0, 1], got {self.cache_hit_ratio}"
            )

    @property
    def read_rps(self) -> float:
        return self.target_rps * self.mix.read_share

    @property
    def write_rps(self) -> float:
        return self.target_rps * self.mix.write_share

    @property
    def create_rps(self) -> float:
        return self.target_rps * self.mix.share("create")

    @property
    def db_read_rps(self) -> float:
        """Reads the cache does not answer; they go to the replicas."""
        return self.read_rps * (1.0 - self.cache_hit_ratio)
