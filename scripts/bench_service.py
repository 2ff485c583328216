#!/usr/bin/env python3
"""Benchmark: throughput and latency of the reference service for GET one and list.

Starts a seeded `ServiceProcess` (SQLite, in-process cache, rate limit off) unless `--url`
names a running service, then, per scenario, keeps `--concurrency` keep-alive connections
busy until `--requests` requests are done (or `--max-seconds` pass). The client is a lean
asyncio HTTP/1.1 loop on uvloop, so on a small machine it costs the server less CPU than
httpx would. Prints req/s and p50/p95/p99 per scenario. The machine is shared: compare
figures from one invocation, not across invocations.

    .venv/bin/python scripts/bench_service.py [--requests 20000] [--concurrency 32]
        [--profiles 5000] [--workers 1] [--redis redis://127.0.0.1:6379/15]
        [--url http://127.0.0.1:8000]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from target_service.process import ServiceProcess
from target_service.settings import Settings


@dataclass
class Outcome:
    latencies_s: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    seconds: float = 0.0

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies_s)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def one_connection(
    host: str, port: int, next_path: Callable[[], str], budget: list[int], deadline: float,
    outcome: Outcome,
) -> None:  # fmt: skip
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while budget[0] > 0 and time.perf_counter() < deadline:
            budget[0] -= 1
            request = f"GET {next_path()} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
            started = time.perf_counter()
            writer.write(request)
            status_line = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            outcome.latencies_s.append(time.perf_counter() - started)
            outcome.statuses[int(status_line.split()[1])] += 1
    finally:
        writer.close()


async def run_scenario(
    url: str, next_path: Callable[[], str], requests: int, concurrency: int, max_seconds: float
) -> Outcome:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    outcome = Outcome()
    budget = [requests]
    started = time.perf_counter()
    deadline = started + max_seconds
    await asyncio.gather(
        *(
            one_connection(host, port, next_path, budget, deadline, outcome)
            for _ in range(concurrency)
        )
    )
    outcome.seconds = time.perf_counter() - started
    return outcome


def scenarios(profiles: int, rng: random.Random) -> dict[str, Callable[[], str]]:
    pages = min(50, max(1, profiles // 20))
    return {
        "GET /api/profile/{id}": lambda: f"/api/profile/{rng.randint(1, profiles)}",
        "GET /api/profiles": lambda: f"/api/profiles?page={rng.randint(1, pages)}",
    }


def every_key(profiles: int) -> Callable[[], str]:
    """Warm-up paths: each id once, then each list page, so the measured run is all hits."""
    paths = [f"/api/profile/{n}" for n in range(1, profiles + 1)]
    paths += [f"/api/profiles?page={n}" for n in range(1, 51)]
    it = iter(paths)
    return lambda: next(it, "/api/profiles")


def report(name: str, outcome: Outcome) -> str:
    done = len(outcome.latencies_s)
    rps = done / outcome.seconds if outcome.seconds else 0.0
    bad = sum(n for status, n in outcome.statuses.items() if status != 200)
    return (
        f"{name:<36} {done:>8,} {rps:>9,.0f} {outcome.percentile(0.50):>8.2f} "
        f"{outcome.percentile(0.95):>8.2f} {outcome.percentile(0.99):>8.2f} {bad:>6}"
    )


async def bench(args: argparse.Namespace, url: str, label: str) -> None:
    rng = random.Random(42)
    # Warm-up is not measured: with the cache on it makes every measured request a hit.
    await run_scenario(url, every_key(args.profiles), args.profiles + 50, args.concurrency, 60)
    for name, next_path in scenarios(args.profiles, rng).items():
        outcome = await run_scenario(
            url, next_path, args.requests, args.concurrency, args.max_seconds
        )
        print(report(f"{name} {label}", outcome), flush=True)


HEADER = (
    f"{'scenario':<36} {'requests':>8} {'req/s':>9} {'p50 ms':>8} {'p95 ms':>8} "
    f"{'p99 ms':>8} {'non200':>6}"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--max-seconds", type=float, default=30.0)
    parser.add_argument("--profiles", type=int, default=5_000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--url", help="a running service (seeded with --profiles profiles)")
    parser.add_argument("--redis", help="redis://host:port/db: cache in Redis, not in-process")
    args = parser.parse_args()
    print(f"{args.requests:,} requests per scenario, {args.concurrency} keep-alive connections")
    print(HEADER)
    if args.url:
        uvloop.run(bench(args, args.url, ""))
        return
    # Side by side in one run: cache hits, then every read from SQLite (cache TTLs 0).
    with tempfile.TemporaryDirectory(prefix="loadcap-bench-") as tmp:
        for label, ttl in (("(cached)", 300.0), ("(cache off)", 0.0)):
            settings = Settings(
                db_url=f"sqlite:///{tmp}/ttl{ttl:g}.db",
                rate_limit=None,
                profile_ttl_s=ttl,
                list_ttl_s=ttl,
                redis_url=args.redis,
                log_level="warning",
            )
            with ServiceProcess(settings, profiles=args.profiles, workers=args.workers) as svc:
                uvloop.run(bench(args, svc.base_url, label))


if __name__ == "__main__":
    main()
