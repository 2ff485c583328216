"""Realistic profiles for seeding, generated without extra dependencies, and the seeding loop."""

from __future__ import annotations

import random
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass

from target_service.storage import NewProfile, ProfileStore

FIRST_NAMES = (
    "Ana", "Carlos", "Lucía", "Mateo", "Sofía", "Diego", "Valentina", "Javier", "Camila",
    "Pablo", "Elena", "Andrés", "María", "José", "Isabel", "Daniel", "Laura", "Miguel",
    "Olivia", "Liam", "Emma", "Noah", "Ava", "Ethan", "Mia", "Lucas", "Chloé", "Hugo",
    "Léa", "Jonas", "Aisha", "Omar", "Yuki", "Hiroshi", "Mei", "Wei", "Priya", "Arjun",
    "Zoë", "Björn", "Ingrid", "Søren", "Nadia", "Tomasz", "Katarzyna", "Giulia", "Marco",
)  # fmt: skip
LAST_NAMES = (
    "García", "Martínez", "López", "Sánchez", "Pérez", "Gómez", "Fernández", "Ruiz",
    "Smith", "Johnson", "Brown", "Williams", "Jones", "Miller", "Davis", "Wilson",
    "Müller", "Schmidt", "Dubois", "Moreau", "Rossi", "Russo", "Kowalski", "Nowak",
    "Tanaka", "Suzuki", "Chen", "Wang", "Patel", "Singh", "Khan", "O'Brien", "Nguyen",
    "Andersson", "Johansson", "Silva", "Santos", "Costa", "Ivanova", "Novak",
)  # fmt: skip
DOMAINS = ("example.com", "example.org", "example.net", "mail.example", "corp.example")
ROLES = (
    "Backend engineer", "Product designer", "Data analyst", "Site reliability engineer",
    "Engineering manager", "QA engineer", "Mobile developer", "Security researcher",
    "Technical writer", "Platform engineer", "Student", "Founder",
)  # fmt: skip
TOPICS = (
    "distributed systems", "coffee", "cycling", "open source", "jazz", "databases",
    "photography", "climbing", "type systems", "gardening", "chess", "observability",
    "running", "board games", "compilers", "sailing", "music production", "baking",
)  # fmt: skip
CITIES = (
    "Madrid", "Barcelona", "Buenos Aires", "Ciudad de México", "Lisbon", "Berlin", "Paris",
    "London", "Toronto", "Tokyo", "Singapore", "Bangalore", "Nairobi", "São Paulo",
)  # fmt: skip
BATCH = 5_000


def _ascii_slug(text: str) -> str:
    table = str.maketrans("áéíóúüñçøöåäèëïâêîôûãõ'", "aeiouuncooaaeeiaeiouao ")
    return "".join(ch for ch in text.lower().translate(table) if ch.isalnum())


def generate_profiles(count: int, *, rng: random.Random | None = None) -> Iterator[NewProfile]:
    """`count` profiles with unique emails (a per-call token keeps re-seeding collision-free)."""
    rng = rng or random.Random()
    token = secrets.token_hex(3)
    for n in range(count):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        email = f"{_ascii_slug(first)}.{_ascii_slug(last)}.{token}{n}@{rng.choice(DOMAINS)}"
        topics = rng.sample(TOPICS, 2)
        bio = f"{rng.choice(ROLES)} in {rng.choice(CITIES)}. Into {topics[0]} and {topics[1]}."
        yield {"name": f"{first} {last}", "email": email, "bio": bio}


@dataclass(frozen=True)
class SeedResult:
    profiles: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.profiles / self.seconds if self.seconds > 0 else float("inf")


async def seed_profiles(store: ProfileStore, count: int) -> SeedResult:
    """Insert `count` profiles in batches through `store.bulk_insert`."""
    started = time.perf_counter()
    inserted = 0
    profiles = generate_profiles(count)
    while inserted < count:
        batch = [next(profiles) for _ in range(min(BATCH, count - inserted))]
        inserted += await store.bulk_insert(batch)
    return SeedResult(inserted, time.perf_counter() - started)
