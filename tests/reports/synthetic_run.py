"""A synthetic long run directory (default: one hour, a history row per second per endpoint)
for measuring report speed. The CSV headers are copied from a recorded run, so the columns
are exactly the ones Locust writes; the `/metrics` snapshots are real exposition text from
the service's own `ServiceMetrics` collectors.
"""

from __future__ import annotations

import csv
import math
import random
from pathlib import Path

from prometheus_client import generate_latest

from target_service.metrics import ServiceMetrics

ENDPOINTS = (
    ("GET", "/api/profiles", 0.80),
    ("GET", "/api/profile/{id}", 0.10),
    ("POST", "/api/profiles", 0.05),
    ("PATCH", "/api/profile/{id}", 0.05),
)
PERCENTILES = (0.50, 0.66, 0.75, 0.80, 0.90, 0.95, 0.98, 0.99, 0.999, 0.9999, 1.0)


def _header(template: Path, name: str) -> list[str]:
    with (template / name).open(newline="") as handle:
        return next(csv.reader(handle))


def _latencies(rng: random.Random, base_ms: float) -> list[int]:
    return [round(base_ms * (1 + 3 * p**8) * rng.uniform(0.9, 1.1)) for p in PERCENTILES]


def _history(out: Path, template: Path, seconds: int, rps: float, rng: random.Random) -> None:
    header = _header(template, "locust_stats_history.csv")
    totals = {(method, name): [0, 0] for method, name, _ in ENDPOINTS}
    start = 1_790_000_000
    with (out / "locust_stats_history.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for second in range(seconds):
            users = 50
            rows = []
            for method, name, share in ENDPOINTS:
                sent = round(rps * share * rng.uniform(0.9, 1.1))
                totals[method, name][0] += sent
                totals[method, name][1] += int(rng.random() < 0.01)
                rows.append(
                    [
                        start + second,
                        users,
                        method,
                        name,
                        f"{rps * share:2f}",
                        "0.0",
                        *_latencies(rng, 4.0),
                        *totals[method, name],
                        4,
                        5.0,
                        1,
                        250,
                        300,
                    ]
                )
            all_sent = sum(t[0] for t in totals.values())
            all_failed = sum(t[1] for t in totals.values())
            rows.append(
                [
                    start + second,
                    users,
                    "",
                    "Aggregated",
                    f"{rps:2f}",
                    "0.0",
                    *_latencies(rng, 4.0),
                    all_sent,
                    all_failed,
                    4,
                    5.0,
                    1,
                    250,
                    300,
                ]
            )
            writer.writerows(rows)
    _stats(out, template, totals, seconds)


def _stats(
    out: Path, template: Path, totals: dict[tuple[str, str], list[int]], seconds: int
) -> None:
    header = _header(template, "locust_stats.csv")
    rng = random.Random(1)
    with (out / "locust_stats.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)

        def row(method: str, name: str, sent: int, failed: int) -> list[object]:
            rates = [sent / seconds, failed / seconds]
            return [method, name, sent, failed, 4, 5.0, 1, 250, 300, *rates, *_latencies(rng, 4.0)]

        for method, name, _ in ENDPOINTS:
            writer.writerow(row(method, name, *totals[method, name]))
        sent = sum(t[0] for t in totals.values())
        failed = sum(t[1] for t in totals.values())
        writer.writerow(row("", "Aggregated", sent, failed))


def _snapshots(out: Path, seconds: int, rps: float, every_s: int) -> None:
    metrics = ServiceMetrics()
    metrics.db_pool_size.labels("master").set(10)
    directory = out / "metrics"
    directory.mkdir()
    rows = []
    for n, second in enumerate(range(0, seconds + 1, every_s)):
        step = rps * every_s if second else 0.0
        for method, route, share in ENDPOINTS:
            metrics.http_requests.labels(method, route, "200").inc(step * share)
        metrics.cache_requests.labels("list", "hit").inc(step * 0.56)
        metrics.cache_requests.labels("list", "miss").inc(step * 0.24)
        metrics.db_queries.labels("master", "read").inc(step * 0.3)
        metrics.db_pool_in_use.labels("master").set(3 + 2 * math.sin(second / 60))
        name = f"{n + 1:04d}-during.prom"
        (directory / name).write_bytes(generate_latest(metrics.registry))
        rows.append((1_790_000_000 + second, second, "during", f"metrics/{name}"))
    with (directory / "index.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(("timestamp", "elapsed_s", "phase", "file"))
        writer.writerows(rows)


def write_synthetic_run(
    out: Path, template: Path, *, seconds: int = 3600, rps: float = 500.0, scrape_every_s: int = 5
) -> Path:
    """Write the run directory `out` and return it."""
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(0)
    _history(out, template, seconds, rps, rng)
    _snapshots(out, seconds, rps, scrape_every_s)
    return out
