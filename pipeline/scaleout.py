"""`loadcap scaleout`: throughput of 1, 2, … N CPU-capped instances behind nginx on shared
MariaDB + Redis, each point with its verdict, then the USL fit on instance count.

For each N (in serpentine order over the repeats: 1,2,3,4 then 4,3,2,1, so a drift of the
machine spreads over every N instead of biasing one) the fleet is scaled, /health is waited
for from N distinct instances, and one Locust run (closed model, the same users per instance
at every N: the USL's rule of constant load per unit) measures it in its own run directory
`DIR/points/n{N}-r{k}/`. The measured window opens after the warm-up; over it every tier's CPU
is read from /proc and the requests from the instances' own counters (`scaleout_window`).
The repeats go to `capacity.scaleout.analyse_scaleout`, which writes nothing; this writes
`scaleout.json`, `scaleout.csv` and the report.
"""

from __future__ import annotations

import os
import signal
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import msgspec

from capacity.scaleout import analyse_scaleout
from loadtests.errors import LoadTestError
from pipeline.cpu_split import CpuSplit
from pipeline.fleet import CommandFleet, Fleet, LocalFleet
from pipeline.local_servers.datastores import local_datastores
from pipeline.runner import RunSettings, run_load_test
from pipeline.scaleout_settings import (
    POINTS_DIR,
    RUN_TAIL_S,
    ScaleoutSettings,
    cfs_period_us,
    record_settings,
)
from pipeline.scaleout_verdict import first_limit
from pipeline.scaleout_window import WindowSampler, facts_evidence, window_facts
from reports.scaleout_report import write_scaleout_report
from reports.summary import write_summary
from rundir import scaleout_json as sj
from rundir.summary_json import read_summary
from target_service.cpu_cap import CpuCap, CpuCapError
from target_service.settings import Settings


class PointFailed(LoadTestError):
    """One measurement did not complete (Locust did not start or stopped early)."""


PointCallback = Callable[[sj.ScaleoutRepeat], None]
PhaseCallback = Callable[[str], None]


@dataclass(frozen=True)
class ScaleoutResult:
    document: sj.ScaleoutDocument
    json_path: Path
    csv_path: Path
    report_paths: tuple[Path, ...]
    interrupted: bool = False


def run_scaleout(
    settings: ScaleoutSettings,
    *,
    on_point: PointCallback | None = None,
    on_phase: PhaseCallback | None = None,
) -> ScaleoutResult:
    """Measures every (N, repeat) of the schedule, then analyses and writes the outputs."""
    phase = on_phase or (lambda text: None)
    settings.out_dir.mkdir(parents=True, exist_ok=True)
    repeats: list[sj.ScaleoutRepeat] = []
    lost: list[str] = []
    stop = _Interruption()
    with stop.installed(), _fleet(settings, phase) as (fleet, databases):
        for sequence, (n, k) in enumerate(settings.schedule):
            try:
                phase(f"scaling to {n} instance{'s' if n > 1 else ''}")
                fleet.scale(n)
                fleet.wait_ready(n)
                phase(f"measuring N={n} (repeat {k + 1} of {settings.repeat})")
                repeat = measure_point(settings, fleet, databases, n=n, k=k, sequence=sequence)
            except KeyboardInterrupt:
                stop.asked = True
            except PointFailed as exc:
                lost.append(str(exc))  # the other points still stand
                phase(f"not measured: {exc}")
            else:
                repeats.append(repeat)
                if on_point is not None:
                    on_point(repeat)
            if stop.asked:  # Locust stops on Ctrl+C by itself; the schedule stops here
                lost.append(f"interrupted after {len(repeats)} of {len(settings.schedule)}")
                break
    if not repeats:
        raise LoadTestError(f"no point was measured: {lost[0] if lost else 'interrupted'}")
    document = analyse_scaleout(repeats, record_settings(settings))
    if lost:
        document = msgspec.structs.replace(
            document, warnings=[*document.warnings, *(f"not measured: {m}" for m in lost)]
        )
    json_path = sj.write_scaleout(settings.out_dir / sj.SCALEOUT_FILE, document)
    csv_path = sj.write_scaleout_csv(settings.out_dir / sj.SCALEOUT_CSV, document)
    report = write_scaleout_report(settings.out_dir, document)
    return ScaleoutResult(document, json_path, csv_path, report, interrupted=stop.asked)


class _Interruption:
    """Ctrl+C or SIGTERM: Locust is stopped (it handles the KeyboardInterrupt), then the
    scale-out ends after that point, keeping and analysing what was measured."""

    def __init__(self) -> None:
        self.asked = False

    @contextmanager
    def installed(self) -> Iterator[None]:
        def interrupt(signum: int, frame: FrameType | None) -> None:
            self.asked = True
            raise KeyboardInterrupt

        previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def measure_point(
    settings: ScaleoutSettings,
    fleet: Fleet,
    databases: dict[str, str],
    *,
    n: int,
    k: int,
    sequence: int,
) -> sj.ScaleoutRepeat:
    """One Locust run against N instances; the window's figures and verdict."""
    users = settings.users_per_instance * n
    run_dir = settings.out_dir / POINTS_DIR / f"n{n}-r{k + 1}"
    run = RunSettings(
        out_dir=run_dir,
        host=fleet.host,
        users=users,
        spawn_rate=float(users),
        duration_s=settings.warmup_s + settings.duration_s + RUN_TAIL_S,
        id_count=settings.profiles,
        processes=settings.processes,
        # The run's USE table reads one instance (nginx does not proxy /metrics); the point's
        # own figures below cover every instance.
        metrics_url=fleet.metrics_urls()[0],
        cpu_split=CpuSplit(service=None, generator=None),
        service_cores=settings.cpu_per_instance,
        max_error_rate=1.0,
    )
    sampler = WindowSampler(fleet, settings.warmup_s, settings.duration_s, databases)
    outcome = run_load_test(run, on_progress=sampler)
    if len(sampler.samples) < 2:
        raise PointFailed(f"N={n} (repeat {k + 1}): {outcome.message}")
    facts = window_facts(*sampler.samples, cores_available=_cores_available(settings, n))
    summary = read_summary(write_summary(run_dir))
    totals = summary.totals
    error_rate = totals.error_rate or 0.0
    limit, reason = first_limit(
        facts, error_rate=error_rate, instances=n, period_us=cfs_period_us(settings)
    )
    if facts.instances_answered < n:
        limit, reason = (
            "errors",
            f"only {facts.instances_answered} of {n} instances' metrics answered",
        )
    return sj.ScaleoutRepeat(
        instances=n,
        throughput_rps=facts.requests / facts.seconds,
        run_dir=str(run_dir.relative_to(settings.out_dir)),
        sequence=sequence,
        users=users,
        requests=int(totals.requests or 0),
        failures=int(totals.failures or 0),
        error_rate=error_rate,
        p95_ms=totals.p95_ms,
        first_limit=limit,
        limit_reason=reason,
        cache_errors=facts.cache_errors,
        tiers=facts.tiers,
        connections=sampler.connections,
        evidence=facts_evidence(facts, instances=n, period_us=cfs_period_us(settings)),
    )


def _cores_available(settings: ScaleoutSettings, n: int) -> dict[str, float | None]:
    machine = float(len(os.sched_getaffinity(0)))
    cap = settings.cpu_per_instance
    return {
        "instances": n * cap if cap is not None else None,
        "generator": float(min(settings.processes, machine)),
        "nginx": 1.0,  # one worker process (pipeline/local_servers/nginx.py)
        "redis": 1.0,  # one thread serves commands
        "master": machine,
        **{f"replica{i}": machine for i in range(3)},
    }


@contextmanager
def _fleet(
    settings: ScaleoutSettings, phase: PhaseCallback
) -> Iterator[tuple[Fleet, dict[str, str]]]:
    """The fleet for the whole measurement, and its database nodes by name (for their
    connection counts); everything loadcap started is stopped when the block ends."""
    if settings.scale_cmd is not None:
        assert settings.host is not None
        yield (
            CommandFleet(
                settings.scale_cmd, host=settings.host, metrics_urls=settings.metrics_urls
            ),
            {},
        )
        return
    if settings.cpu_per_instance is not None:
        _check_cap(settings.cpu_per_instance)
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="loadcap-scaleout-")))
        shared: dict[str, list[int]] = {}
        if settings.db_url is None:
            phase("starting a MariaDB master + replicas and Redis on loopback")
            stores = stack.enter_context(
                local_datastores(work / "stores", replicas=settings.replicas)
            )
            cluster = stores.cluster
            for name, server in (
                *((node.name, node) for node in (cluster.master, *cluster.replicas)),
                ("redis", stores.redis),
            ):
                shared[name] = [server.pid] if server.pid is not None else []
            service = _fleet_service(cluster.master_url, cluster.replica_urls, stores.redis.url)
        else:
            service = _fleet_service(settings.db_url, settings.replica_urls, settings.redis_url)
        fleet = LocalFleet(
            service, work=work, cpus=settings.cpu_per_instance, profiles=settings.profiles,
            shared_pids=shared,
        )  # fmt: skip
        stack.callback(fleet.close)
        databases = {"master": service.db_url} | {
            f"replica{i}": url for i, url in enumerate(service.replica_urls)
        }
        yield fleet, databases


def _fleet_service(db_url: str, replica_urls: tuple[str, ...], redis_url: str | None) -> Settings:
    """Every instance's settings: the shared servers, no rate limit (the load is not abuse);
    the rest from the LOADCAP_* variables of loadcap's own environment (e.g.
    LOADCAP_LOCAL_CACHE_ENTRIES=0 measures the fleet without its L1), else the defaults."""
    return Settings.from_env().with_changes(
        db_url=db_url,
        replica_urls=replica_urls,
        redis_url=redis_url,
        rate_limit=None,
        # No read-your-writes secret: the instances share the key kept in their database, as
        # a fleet at its defaults does.
        log_level="warning",
    )


def _check_cap(cores: float) -> None:
    """Refuse before anything starts when no CPU cap can be made here."""
    try:
        CpuCap.create(cores, name="probe").remove()
    except CpuCapError as exc:
        raise LoadTestError(
            f"--cpu-per-instance {cores:g}: no CPU cap can be made here ({exc}); "
            "run as root on a machine with a writable cgroup cpu controller"
        ) from None
