#!/usr/bin/env python3
"""Benchmark: which CFS period a CPU-capped service should run under (docs/capacity.md).

Starts a throwaway Redis and, per (cap, period) point, the service on SQLite + Redis with
its default 50 ms Redis timeout inside a `CpuCap`; drives it past saturation with the lean
client of scripts/bench_service.py (80 % GET one profile, 20 % list pages, keep-alive
connections) and prints per point: req/s, p50/p99, the cap's throttled periods and seconds,
and the cache errors the service counted (each is a Redis call that timed out or failed).
Points are interleaved over `--repeat` rounds so machine noise spreads over all of them.

    .venv/bin/python scripts/bench_cfs_period.py [--cores 0.15,0.25] [--periods 100,10,5]
        [--seconds 10] [--repeat 2] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import tempfile
from pathlib import Path

import httpx
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scripts.bench_service import Outcome, every_key, run_scenario
from target_service.process import ServiceProcess
from target_service.settings import Settings
from tests.fixtures.redis_server import RedisServer

PROFILES = 2_000
CACHE_ERRORS = re.compile(r"^loadcap_cache_errors_total(?:\{[^}]*\})? ([0-9.e+]+)$", re.M)


def cache_errors(base_url: str) -> float:
    text = httpx.get(base_url + "/metrics").text
    return sum(float(value) for value in CACHE_ERRORS.findall(text))


def mixed_paths(rng: random.Random) -> object:
    def next_path() -> str:
        if rng.random() < 0.8:
            return f"/api/profile/{rng.randint(1, PROFILES)}"
        return f"/api/profiles?page={rng.randint(1, 50)}"

    return next_path


def measure(args: argparse.Namespace, redis_url: str, cores: float, period_ms: float) -> str:
    period_us = round(period_ms * 1000)
    if cores * period_us < 1_000:
        return f"{cores:>5} {period_ms:>6g}   refused: the quota would be under the kernel's 1 ms"
    with tempfile.TemporaryDirectory(prefix="loadcap-period-") as tmp:
        settings = Settings(
            db_url=f"sqlite:///{tmp}/loadcap.db", redis_url=redis_url, rate_limit=None
        )
        with ServiceProcess(
            settings, profiles=PROFILES, cpus=cores, cpu_period_us=period_us
        ) as svc:
            assert svc.cap is not None
            uvloop.run(run_scenario(svc.base_url, every_key(PROFILES), PROFILES + 50, 8, 60))
            errors_before, throttling_before = cache_errors(svc.base_url), svc.cap.throttling()
            outcome: Outcome = uvloop.run(
                run_scenario(
                    svc.base_url, mixed_paths(random.Random(7)),  # type: ignore[arg-type]
                    10**9, args.concurrency, args.seconds,
                )
            )  # fmt: skip
            throttled = svc.cap.throttling() - throttling_before
            errors = cache_errors(svc.base_url) - errors_before
    done = len(outcome.latencies_s)
    bad = sum(n for status, n in outcome.statuses.items() if status != 200)
    return (
        f"{cores:>5} {period_ms:>6g} {done / outcome.seconds:>8,.0f} "
        f"{outcome.percentile(0.50):>7.1f} {outcome.percentile(0.99):>7.1f} "
        f"{throttled.nr_throttled:>6}/{throttled.nr_periods:<6} {throttled.throttled_s:>7.2f} "
        f"{errors:>6.0f} {bad:>5}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cores", default="0.15,0.25")
    parser.add_argument("--periods", default="100,10,5", help="CFS periods in ms")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    print(
        f"{'cores':>5} {'period':>6} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'throttled/periods':>17} {'thr s':>7} {'cacheE':>6} {'non200':>5}"
    )
    with tempfile.TemporaryDirectory(prefix="loadcap-period-redis-") as tmp:
        redis_server = RedisServer("redis-server", Path(tmp))
        redis_server.start()
        try:
            for _ in range(args.repeat):
                for cores in (float(c) for c in args.cores.split(",")):
                    for period_ms in (float(p) for p in args.periods.split(",")):
                        print(measure(args, redis_server.url, cores, period_ms), flush=True)
        finally:
            redis_server.stop()


if __name__ == "__main__":
    main()
