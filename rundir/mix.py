"""The traffic mix: weights of list / get one / create / patch (the seed plan's 80/10/5/5), and
the request each action sends. `run.json` records the mix a run was asked for (`mix`, by
action); `summary.json` the share each endpoint received (`endpoints[].share`, by name).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from rundir.units import UnitError

ACTIONS = ("list", "get", "create", "patch")
LIST_PATH = "/api/profiles"
ONE_PATH = "/api/profile/{id}"
# The request each action sends: method and route template (Locust names a request by both).
ENDPOINTS: Mapping[str, tuple[str, str]] = {
    "list": ("GET", LIST_PATH),
    "get": ("GET", ONE_PATH),
    "create": ("POST", LIST_PATH),
    "patch": ("PATCH", ONE_PATH),
}
# Built once: a Locust task's microseconds are load not sent.
ENDPOINT_NAMES: Mapping[str, str] = {
    action: f"{method} {path}" for action, (method, path) in ENDPOINTS.items()
}
_ACTION_OF_ENDPOINT = {name: action for action, name in ENDPOINT_NAMES.items()}


class MixError(UnitError):
    """A traffic mix could not be read."""


@dataclass(frozen=True, kw_only=True)
class Mix:
    """Weights per action, each share the weight over their total: `--mix` gives whole
    weights, a mix observed in a run the endpoints' shares of its requests."""

    list: float = 80
    get: float = 10
    create: float = 5
    patch: float = 5

    def __post_init__(self) -> None:
        weights = self.as_dict()
        negative = any(not math.isfinite(w) or w < 0 for w in weights.values())
        if negative or sum(weights.values()) == 0:
            raise MixError(f"mix weights must be >= 0 and not all zero, got {weights}")

    @classmethod
    def parse(cls, text: str) -> Mix:
        """`"80,10,5,5"` (list, get, create, patch) or `"list=80,get=10,create=5,patch=5"`."""
        parts = [p.strip() for p in text.split(",") if p.strip()]
        try:
            if all("=" in p for p in parts):
                named = {k.strip(): int(v) for k, v in (p.split("=", 1) for p in parts)}
                unknown = set(named) - set(ACTIONS)
                if unknown:
                    raise MixError(f"unknown mix action(s) {sorted(unknown)}; use {ACTIONS}")
                return cls(**{a: named.get(a, 0) for a in ACTIONS})
            if len(parts) != len(ACTIONS):
                raise MixError(f"mix needs 4 weights (list,get,create,patch), got {text!r}")
            return cls(**dict(zip(ACTIONS, (int(p) for p in parts), strict=True)))
        except ValueError as exc:
            if isinstance(exc, MixError):
                raise
            raise MixError(f"mix weights must be whole numbers, got {text!r}") from None

    @classmethod
    def from_endpoint_shares(cls, shares: Mapping[str, float]) -> Mix:
        """From `{"GET /api/profiles": 0.8, ...}`; other endpoints (`/health`) are not part of
        the mix and are left out."""
        weights = dict.fromkeys(ACTIONS, 0.0)
        for name, share in shares.items():
            action = _ACTION_OF_ENDPOINT.get(name)
            if action is not None:
                weights[action] += share
        if sum(weights.values()) <= 0:
            raise MixError("the run has none of the profile endpoints in its mix")
        return cls(**weights)

    def as_dict(self) -> dict[str, float]:
        return {a: getattr(self, a) for a in ACTIONS}

    def shares(self) -> dict[str, float]:
        total = sum(self.as_dict().values())
        return {a: w / total for a, w in self.as_dict().items()}

    def share(self, action: str) -> float:
        return self.shares()[action]

    @property
    def read_share(self) -> float:
        """The share of requests that read (GET)."""
        return sum(s for a, s in self.shares().items() if ENDPOINTS[a][0] == "GET")

    @property
    def write_share(self) -> float:
        return sum(s for a, s in self.shares().items() if ENDPOINTS[a][0] != "GET")

    def label(self) -> str:
        """`80/10/5/5 (list/get/create/patch)`: the shares in percent."""
        return (
            "/".join(f"{100 * s:.0f}" for s in self.shares().values()) + " (list/get/create/patch)"
        )

    def reduced(self) -> dict[str, int]:
        """Whole weights divided by their common divisor: 80/10/5/5 becomes 16/2/1/1."""
        weights = self.as_dict()
        if not all(float(w).is_integer() for w in weights.values()):
            raise MixError(f"mix weights must be whole numbers, got {weights}")
        whole = {a: int(w) for a, w in weights.items()}
        divisor = math.gcd(*whole.values())
        return {a: w // divisor for a, w in whole.items()}


def action_cycle(weights: Mapping[str, int]) -> list[str]:
    """Weights spread evenly over a cycle (16/2/1/1 interleaved, not 16 lists in a row)."""
    slots: list[tuple[float, str]] = []
    for action in ACTIONS:
        count = weights.get(action, 0)
        slots.extend(((i + 0.5) / count, action) for i in range(count))
    ordered = [action for _, action in sorted(slots)]
    return ordered
