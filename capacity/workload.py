"""The traffic a plan is sized for: target rate, endpoint mix and cache hit ratio."""

from __future__ import annotations

import math
from dataclasses import dataclass

from capacity.errors import CapacityInputError
from capacity.sizing import check_positive

SECONDS_PER_DAY = 86_400

# Endpoint names as Locust reports them (method + route template) and their role.
LIST, GET, CREATE, PATCH = "list", "get", "create", "patch"
ENDPOINT_KINDS = {
    "GET /api/profiles": LIST,
    "GET /api/profile/{id}": GET,
    "POST /api/profiles": CREATE,
    "PATCH /api/profile/{id}": PATCH,
}


@dataclass(frozen=True, kw_only=True)
class TrafficMix:
    """Shares of the four profile endpoints; the seed's mix is 80/10/5/5."""

    list: float = 0.80
    get: float = 0.10
    create: float = 0.05
    patch: float = 0.05

    def __post_init__(self) -> None:
        shares = (self.list, self.get, self.create, self.patch)
        if any(not math.isfinite(s) or s < 0 for s in shares):
            raise CapacityInputError(f"mix shares must be non-negative, got {shares}")
        if not math.isclose(sum(shares), 1.0, abs_tol=0.02):
            raise CapacityInputError(f"mix shares must add up to 1, got {sum(shares):.3f}")

    @property
    def reads(self) -> float:
        return self.list + self.get

    @property
    def writes(self) -> float:
        return self.create + self.patch

    def label(self) -> str:
        parts = (self.list, self.get, self.create, self.patch)
        return "/".join(f"{100 * s:.0f}" for s in parts) + " (list/get/create/patch)"

    @classmethod
    def from_endpoint_shares(cls, shares: dict[str, float]) -> TrafficMix:
        """Build from `{"GET /api/profiles": 0.8, ...}`; other endpoints are ignored."""
        by_kind = {LIST: 0.0, GET: 0.0, CREATE: 0.0, PATCH: 0.0}
        for name, share in shares.items():
            kind = ENDPOINT_KINDS.get(name)
            if kind is not None:
                by_kind[kind] += share
        total = sum(by_kind.values())
        if total <= 0:
            raise CapacityInputError("the run has none of the profile endpoints in its mix")
        # Renormalise: /health or other endpoints in the run are not part of the API mix.
        return cls(**{kind: share / total for kind, share in by_kind.items()})


SEED_MIX = TrafficMix()
SEED_CACHE_HIT_RATIO = 0.70


@dataclass(frozen=True, kw_only=True)
class Workload:
    target_rps: float
    mix: TrafficMix = SEED_MIX
    cache_hit_ratio: float = SEED_CACHE_HIT_RATIO

    def __post_init__(self) -> None:
        check_positive("target_rps", self.target_rps)
        if not math.isfinite(self.cache_hit_ratio) or not 0 <= self.cache_hit_ratio <= 1:
            raise CapacityInputError(
                f"cache hit ratio must be in [0, 1], got {self.cache_hit_ratio}"
            )

    @property
    def read_rps(self) -> float:
        return self.target_rps * self.mix.reads

    @property
    def write_rps(self) -> float:
        return self.target_rps * self.mix.writes

    @property
    def create_rps(self) -> float:
        return self.target_rps * self.mix.create

    @property
    def db_read_rps(self) -> float:
        """Reads the cache does not answer; they go to the replicas."""
        return self.read_rps * (1.0 - self.cache_hit_ratio)
