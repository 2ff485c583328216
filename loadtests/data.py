"""Realistic request data: skewed ids and pages, unique emails, plausible profile fields.

Skew is a hot set: `hot_share` of the draws go to the first `hot_fraction` of the range
(0.8 / 0.2 is the 80/20 rule). It is what makes the service's cache hit ratio a property of
the workload; `hot_share == hot_fraction` is uniform.
"""

from __future__ import annotations

import itertools
import os
import random
import uuid
from dataclasses import dataclass

from loadtests.errors import LoadTestError

_FIRST_NAMES = ("Ana", "Bruno", "Carmen", "Diego", "Elena", "Fernando", "Gloria", "Hugo", "Inés")
_LAST_NAMES = ("García", "López", "Martín", "Sánchez", "Pérez", "Gómez", "Ruiz", "Díaz", "Moreno")
_BIO_WORDS = ("backend", "engineer", "coffee", "cycling", "databases", "music", "travel", "maps")


@dataclass(frozen=True, kw_only=True)
class Skew:
    hot_fraction: float = 0.2
    hot_share: float = 0.8

    def __post_init__(self) -> None:
        if not 0 < self.hot_fraction <= 1:
            raise LoadTestError(f"hot fraction must be in (0, 1], got {self.hot_fraction}")
        if not 0 <= self.hot_share <= 1:
            raise LoadTestError(f"hot share must be in [0, 1], got {self.hot_share}")


class KeyPicker:
    """Draws keys 1..count under a hot-set skew."""

    def __init__(self, count: int, skew: Skew, rng: random.Random) -> None:
        if count < 1:
            raise LoadTestError(f"the id range must hold at least one id, got {count}")
        self.count = count
        self._rng = rng
        self._hot = max(1, round(count * skew.hot_fraction))
        self._hot_share = skew.hot_share if self._hot < count else 1.0

    def pick(self) -> int:
        if self._rng.random() < self._hot_share:
            return self._rng.randint(1, self._hot)
        return self._rng.randint(self._hot + 1, self.count)


class EmailMaker:
    """Emails unique across users, processes and machines of one run (no accidental 409s)."""

    def __init__(self, run_token: str | None = None) -> None:
        token = run_token or uuid.uuid4().hex[:10]
        self._prefix = f"lc-{token}-{os.getpid()}"
        self._counter = itertools.count(1)

    def next(self) -> str:
        return f"{self._prefix}-{next(self._counter)}@example.test"


def new_profile(rng: random.Random, emails: EmailMaker) -> dict[str, str]:
    return {"name": _name(rng), "email": emails.next(), "bio": _bio(rng)}


def profile_change(rng: random.Random) -> dict[str, str]:
    """A PATCH body: one or two fields, never the email (patches must not collide)."""
    return {"bio": _bio(rng)} if rng.random() < 0.5 else {"name": _name(rng), "bio": _bio(rng)}


def _name(rng: random.Random) -> str:
    return f"{rng.choice(_FIRST_NAMES)} {rng.choice(_LAST_NAMES)}"


def _bio(rng: random.Random) -> str:
    return " ".join(rng.choices(_BIO_WORDS, k=rng.randint(3, 8)))
