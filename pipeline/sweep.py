"""`loadcap sweep`: throughput at several concurrency levels (and service worker counts), as
the `(N, throughput)` CSV that `loadcap fit` reads.

Each level is one closed-model run of the 80/10/5/5 mix with all users started at once, in
its own run directory under the sweep's. One service serves the whole concurrency sweep, so
the levels differ only in load; a worker sweep starts one embedded service per worker count.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from loadtests.errors import LoadTestError
from pipeline.cpu_split import AUTO, CpuSplit, split_cpus
from pipeline.embedded import reference_service
from pipeline.runner import RunSettings, check_service_cpu_cap, run_load_test
from reports.summary import write_summary
from rundir.mix import Mix
from rundir.summary_json import SummaryCapacity, read_summary

SWEEP_CSV = "sweep.csv"
WORKERS_CSV = "workers.csv"
MAX_LEVELS = 20


@dataclass(frozen=True, kw_only=True)
class SweepSettings:
    out_dir: Path
    host: str | None = None
    levels: tuple[int, ...] = (2, 5, 10, 20, 40)
    level_duration_s: float = 15.0
    workers: tuple[int, ...] = ()  # embedded service only: --workers counts at the top level
    mix: Mix = field(default_factory=Mix)
    profiles: int = 1000
    service_cpu_cap: float | None = None  # --service-cpus: each embedded service's CPU quota

    def __post_init__(self) -> None:
        check_service_cpu_cap(self.service_cpu_cap, foreign=self.host is not None)
        for name, values in (("levels", self.levels), ("workers", self.workers)):
            if any(v < 1 for v in values) or len(set(values)) != len(values):
                raise LoadTestError(f"--{name} must be distinct positive whole numbers")
            if len(values) > MAX_LEVELS:
                raise LoadTestError(f"--{name}: at most {MAX_LEVELS} values")
        if not self.levels:
            raise LoadTestError("--levels needs at least one concurrency level")
        if self.workers and self.host is not None:
            raise LoadTestError("--workers starts embedded services: it cannot be used with --host")
        if self.level_duration_s <= 0:
            raise LoadTestError("--level-duration must be positive")


@dataclass(frozen=True)
class SweepPoint:
    n: int
    throughput: float
    p95_ms: float | None
    error_rate: float
    run_dir: Path
    first_limit: str = "none"  # what hit its limit first at this level (summary `capacity`)
    per_core_rps: float | None = None


PointCallback = Callable[[str, SweepPoint], None]


def parse_levels(text: str, *, flag: str) -> tuple[int, ...]:
    """'1,2,5,10' -> (1, 2, 5, 10); one clear error for anything else."""
    try:
        values = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise LoadTestError(f"{flag} expects comma-separated whole numbers, got {text!r}") from None
    if not values:
        raise LoadTestError(f"{flag} expects at least one number")
    return values


def run_sweep(
    settings: SweepSettings, *, on_point: PointCallback | None = None
) -> dict[str, list[SweepPoint]]:
    """Runs every level (then every worker count); returns the points by CSV name."""
    settings.out_dir.mkdir(parents=True, exist_ok=True)
    results: dict[str, list[SweepPoint]] = {}
    measure = partial(_measure, settings, on_point=on_point)
    cap = settings.service_cpu_cap
    with _service(settings.host, settings.profiles, workers=1, cpu_cap=cap) as (host, split):
        results[SWEEP_CSV] = [
            measure(host, split, users=level, n=level, name=f"users-{level:04d}", kind=SWEEP_CSV)
            for level in sorted(settings.levels)
        ]
    write_points(results[SWEEP_CSV], settings.out_dir / SWEEP_CSV, n_column="concurrency")
    if settings.workers:
        top, points = max(settings.levels), []
        for count in sorted(settings.workers):
            service = _service(None, settings.profiles, workers=count, cache=False, cpu_cap=cap)
            with service as (host, split):
                name = f"workers-{count:02d}"
                points.append(measure(host, split, users=top, n=count, name=name, kind=WORKERS_CSV))
        results[WORKERS_CSV] = points
        write_points(points, settings.out_dir / WORKERS_CSV, n_column="processors")
    return results


def _measure(
    settings: SweepSettings,
    host: str,
    split: CpuSplit,
    *,
    users: int,
    n: int,
    name: str,
    kind: str,
    on_point: PointCallback | None,
) -> SweepPoint:
    run = RunSettings(
        out_dir=settings.out_dir / name,
        host=host,
        users=users,
        spawn_rate=float(users),
        duration_s=settings.level_duration_s,
        mix=settings.mix,
        id_count=settings.profiles,
        processes=AUTO,
        cpu_split=split,
        service_cpu_cap=settings.service_cpu_cap if settings.host is None else None,
    )
    outcome = run_load_test(run)
    if not (outcome.out_dir / "locust_stats.csv").exists():
        raise LoadTestError(f"sweep level {name}: {outcome.message}")
    summary = read_summary(write_summary(outcome.out_dir))
    totals, capacity = summary.totals, summary.capacity or SummaryCapacity()
    point = SweepPoint(
        n=n,
        throughput=totals.rps or 0.0,
        p95_ms=totals.p95_ms,
        error_rate=totals.error_rate or 0.0,
        run_dir=outcome.out_dir,
        first_limit=capacity.first_limit or "none",
        per_core_rps=capacity.per_core_rps,
    )
    if on_point is not None:
        on_point(kind, point)
    return point


def sweep_verdict(points: list[SweepPoint]) -> str:
    """What gave out first across the levels; a fit over generator-capped levels fits Locust."""
    first = next((p for p in points if p.first_limit != "none"), None)
    if first is None:
        return "verdict: nothing hit its limit at any level; the fit describes a lower bound"
    line = f"verdict: the {first.first_limit.replace('_', ' ')} hit its limit first, at N={first.n}"
    capped = [p.n for p in points if p.first_limit == "load_generator"]
    if capped:
        line += (
            f"; the load generator was saturated at N={', '.join(map(str, capped))}, so those "
            "levels measured Locust, not the service (see each level's report)"
        )
    return line


def write_points(points: list[SweepPoint], path: Path, *, n_column: str) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([n_column, "throughput", "p95_ms", "error_rate", "first_limit", "run_dir"])
        for p in points:
            p95 = "" if p.p95_ms is None else f"{p.p95_ms:.3f}"
            writer.writerow(
                [
                    p.n,
                    f"{p.throughput:.3f}",
                    p95,
                    f"{p.error_rate:.5f}",
                    p.first_limit,
                    p.run_dir.name,
                ]
            )
    return path


@contextmanager
def _service(
    host: str | None,
    profiles: int,
    *,
    workers: int,
    cache: bool = True,
    cpu_cap: float | None = None,
) -> Iterator[tuple[str, CpuSplit]]:
    """The given host, or the embedded service for the duration of the block, on CPUs of its
    own (under a CPU quota of `cpu_cap` cores, all workers together). `cache=False` for worker
    sweeps: several workers without Redis cannot cache, so no count may."""
    if host is not None:
        yield host, CpuSplit(service=None, generator=None)
        return
    split = split_cpus(workers)
    with reference_service(
        profiles=profiles, workers=workers, cache=cache, cpus=split.service, cpu_cap=cpu_cap
    ) as service:
        yield service.base_url, split
