"""The traffic mix: weights of list / get one / create / patch, 80/10/5/5 by default (the seed)."""

from __future__ import annotations

from dataclasses import dataclass
from math import gcd

from loadtests.errors import LoadTestError

ACTIONS = ("list", "get", "create", "patch")


@dataclass(frozen=True, kw_only=True)
class Mix:
    list: int = 80
    get: int = 10
    create: int = 5
    patch: int = 5

    def __post_init__(self) -> None:
        weights = self.as_dict()
        if any(w < 0 for w in weights.values()) or sum(weights.values()) == 0:
            raise LoadTestError(f"mix weights must be >= 0 and not all zero, got {weights}")

    @classmethod
    def parse(cls, text: str) -> Mix:
        """`"80,10,5,5"` (list, get, create, patch) or `"list=80,get=10,create=5,patch=5"`."""
        parts = [p.strip() for p in text.split(",") if p.strip()]
        try:
            if all("=" in p for p in parts):
                named = {k.strip(): int(v) for k, v in (p.split("=", 1) for p in parts)}
                unknown = set(named) - set(ACTIONS)
                if unknown:
                    raise LoadTestError(f"unknown mix action(s) {sorted(unknown)}; use {ACTIONS}")
                return cls(**{a: named.get(a, 0) for a in ACTIONS})
            if len(parts) != len(ACTIONS):
                raise LoadTestError(f"mix needs 4 weights (list,get,create,patch), got {text!r}")
            return cls(**dict(zip(ACTIONS, (int(p) for p in parts), strict=True)))
        except ValueError as exc:
            if isinstance(exc, LoadTestError):
                raise
            raise LoadTestError(f"mix weights must be whole numbers, got {text!r}") from None

    def as_dict(self) -> dict[str, int]:
        return {a: getattr(self, a) for a in ACTIONS}

    def shares(self) -> dict[str, float]:
        total = sum(self.as_dict().values())
        return {a: w / total for a, w in self.as_dict().items()}

    def reduced(self) -> dict[str, int]:
        """Weights divided by their common divisor: 80/10/5/5 becomes 16/2/1/1."""
        weights = self.as_dict()
        divisor = 0
        for w in weights.values():
            divisor = gcd(divisor, w)
        return {a: w // divisor for a, w in weights.items()}


def action_cycle(weights: dict[str, int]) -> list[str]:
    """Weights spread evenly over a cycle (16/2/1/1 interleaved, not 16 lists in a row)."""
    slots: list[tuple[float, str]] = []
    for action in ACTIONS:
        count = weights.get(action, 0)
        slots.extend(((i + 0.5) / count, action) for i in range(count))
    ordered = [action for _, action in sorted(slots)]
    return ordered
