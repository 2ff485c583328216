"""A bounded load probe for the fault suite: concurrent clients in one event loop, every answer
recorded with its start time, so a test can count failures and take percentiles inside the
window a fault was active.

    probe = LoadProbe(service.base_url, ids=range(1, 201))
    async with probe.running(clients=8):
        ...  # inject the fault, wait for recovery
    print(probe.figures(fault_window))

Reads are 80% (list 40 + get 40) and writes 20% (POST 10, PATCH 10) by default: close to the
80/10/5/5 mix but with enough writes to audit; `mix=SEED_MIX` is the seed's own. Every
acknowledged write is remembered (`acknowledged`) with the value the service confirmed, so a
test can check afterwards that none was lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import httpx

MAX_PROBE_S = 60.0  # no probe runs longer than this, whatever the test does
# Shares of (list, get, POST, PATCH).
Mix = tuple[float, float, float, float]
AUDIT_MIX: Mix = (0.40, 0.40, 0.10, 0.10)
SEED_MIX: Mix = (0.80, 0.10, 0.05, 0.05)


@dataclass(frozen=True)
class Answer:
    started: float  # monotonic
    seconds: float
    kind: str  # list | get | create | patch
    status: int  # 0: no HTTP answer (connection refused, reset, timeout)


@dataclass
class Figures:
    requests: int
    failures: int
    p99_ms: float
    by_status: dict[int, int]

    def __str__(self) -> str:
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(self.by_status.items()))
        return (
            f"{self.requests} requests, {self.failures} failed, "
            f"p99 {self.p99_ms:.1f} ms ({statuses})"
        )


@dataclass
class LoadProbe:
    base_url: str
    ids: Sequence[int]
    cookies: bool = False  # stateless clients by default: the harder case for consistency
    timeout_s: float = 5.0
    mix: Mix = AUDIT_MIX
    answers: list[Answer] = field(default_factory=list)
    # id -> bio the service acknowledged last for it (PATCH); email -> id for POSTs.
    acknowledged_patches: dict[int, str] = field(default_factory=dict)
    acknowledged_creates: dict[str, int] = field(default_factory=dict)
    unanswered_creates: list[str] = field(default_factory=list)
    unanswered_patches: dict[int, str] = field(default_factory=dict)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _sequence: itertools.count[int] = field(default_factory=itertools.count)

    @contextlib.asynccontextmanager
    async def running(self, clients: int = 8) -> AsyncIterator[LoadProbe]:
        """Clients run until the block ends (at most MAX_PROBE_S); each owns a slice of ids for
        its PATCHes, so the last acknowledged value of an id is well defined."""
        slices = [self.ids[i::clients] for i in range(clients)]
        tasks = [asyncio.create_task(self._client(n, own)) for n, own in enumerate(slices)]
        try:
            yield self
        finally:
            self._stop.set()
            await asyncio.gather(*tasks)

    async def _client(self, number: int, own_ids: Sequence[int]) -> None:
        rng = random.Random(number)
        deadline = time.monotonic() + MAX_PROBE_S
        limits = httpx.Limits(max_connections=1)
        async with httpx.AsyncClient(
            base_url=self.base_url, timeout=self.timeout_s, limits=limits
        ) as client:
            while not self._stop.is_set() and time.monotonic() < deadline:
                await self._one(client, rng, number, own_ids)
                if not self.cookies:
                    client.cookies.clear()

    async def _one(
        self, client: httpx.AsyncClient, rng: random.Random, number: int, own_ids: Sequence[int]
    ) -> None:
        roll = rng.random()
        serial = next(self._sequence)
        started = time.monotonic()
        status = 0
        lists, gets, creates, _ = self.mix
        if roll < lists:
            kind = "list"
            request = client.build_request("GET", "/api/profiles", params={"limit": 20})
        elif roll < lists + gets:
            kind = "get"
            request = client.build_request("GET", f"/api/profile/{rng.choice(self.ids)}")
        elif roll < lists + gets + creates or not own_ids:
            kind = "create"
            email = f"probe-{number}-{serial}@example.com"
            body = {"name": f"Probe {serial}", "email": email, "bio": f"created {serial}"}
            request = client.build_request("POST", "/api/profiles", json=body)
        else:
            kind = "patch"
            target = rng.choice(own_ids)
            bio = f"patched {serial}"
            request = client.build_request("PATCH", f"/api/profile/{target}", json={"bio": bio})
        try:
            response = await client.send(request)
            status = response.status_code
        except httpx.TransportError:
            response = None
        self.answers.append(Answer(started, time.monotonic() - started, kind, status))
        if kind == "create":
            if response is not None and status == 201:
                self.acknowledged_creates[email] = response.json()["id"]
            elif response is None:
                self.unanswered_creates.append(email)
        elif kind == "patch" and status == 200:
            self.acknowledged_patches[target] = bio
            self.unanswered_patches.pop(target, None)
        elif kind == "patch" and response is None:
            self.unanswered_patches[target] = bio

    @property
    def acknowledged_writes(self) -> int:
        """POSTs and PATCHes the service answered with 2xx."""
        return sum(
            1 for a in self.answers if a.kind in ("create", "patch") and 200 <= a.status < 300
        )

    def in_flight(self, moment: float) -> list[Answer]:
        """Requests sent before `moment` and answered (or failed) after it."""
        return [a for a in self.answers if a.started <= moment < a.started + a.seconds]

    def figures(
        self, window: tuple[float, float] | None = None, *, by_end: bool = False
    ) -> Figures:
        """Answers whose request started within `window` (or, `by_end`, that came back in it:
        a request in flight when a fault begins belongs to the fault, not to before it)."""

        def when(a: Answer) -> float:
            return a.started + a.seconds if by_end else a.started

        answers = [a for a in self.answers if window is None or window[0] <= when(a) < window[1]]
        by_status: dict[int, int] = {}
        for a in answers:
            by_status[a.status] = by_status.get(a.status, 0) + 1
        failures = sum(1 for a in answers if not 200 <= a.status < 300)
        return Figures(len(answers), failures, p99_ms([a.seconds for a in answers]), by_status)

    async def wait_for_answers(self, count: int, timeout_s: float = 20.0) -> None:
        """Until `count` more requests have been answered (load really is flowing)."""
        target = len(self.answers) + count
        deadline = time.monotonic() + timeout_s
        while len(self.answers) < target:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {len(self.answers)} of {target} answers in {timeout_s}s")
            await asyncio.sleep(0.02)


def p99_ms(seconds: Sequence[float]) -> float:
    if not seconds:
        return math.nan
    ordered = sorted(seconds)
    return ordered[min(len(ordered) - 1, math.ceil(0.99 * len(ordered)) - 1)] * 1000


async def poll_until(
    condition: Callable[[], Awaitable[bool]], *, timeout_s: float = 30.0, interval_s: float = 0.05
) -> float:
    """Seconds until `condition()` holds."""
    started = time.monotonic()
    while True:
        if await condition():
            return time.monotonic() - started
        if time.monotonic() - started > timeout_s:
            raise TimeoutError(f"condition not met within {timeout_s}s")
        await asyncio.sleep(interval_s)


async def health_status(base_url: str) -> tuple[str, dict[str, dict[str, object]]]:
    async with httpx.AsyncClient(timeout=2.0) as client:
        body = (await client.get(f"{base_url}/health")).json()
    return str(body["status"]), body["checks"]
