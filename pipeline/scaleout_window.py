"""One scale-out measurement's window: every tier's CPU and the fleet's request count read at
its start and its end (the verdict on them: `scaleout_verdict`).

The window opens after the warm-up and closes `duration` later, both on Locust's own clock
(its test's start), so the figures cover steady load only. A tier's demand is its CPU seconds
over the window ÷ the requests the instances served in it (their own counters).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import msgspec
import psutil

from capacity.scaleout_evidence import window_evidence
from loadtests.progress import Progress
from pipeline.cpu_split import available_cpus
from pipeline.fleet import Fleet
from pipeline.fleet_counters import (
    FleetCounters,
    Reading,
    counters_delta,
    database_connections,
    read_fleet_counters,
)
from pipeline.tier_cpu import generator_cpu_by_process, tiers_cpu_s
from rundir.scaleout_json import (
    ROLE_GENERATOR,
    ROLE_INSTANCES,
    ROLE_SHARED,
    NodeConnections,
    ScaleoutEvidence,
    ScaleoutTier,
)


@dataclass(frozen=True)
class Sample:
    at: float  # unix time
    cpu_s: dict[str, float]  # by tier
    generator_by_pid: dict[int, float]
    counters: Reading
    throttling: tuple[int, float] | None
    machine_busy_s: float  # every CPU of the machine, whoever used it


def take_sample(fleet: Fleet) -> Sample:
    started = time.time()
    counters = read_fleet_counters(fleet.metrics_urls())
    cpu = tiers_cpu_s(fleet.pids_by_tier())
    generator = generator_cpu_by_process()
    throttling = fleet.throttling()
    machine = machine_busy_s()
    return Sample((started + time.time()) / 2, cpu, generator, counters, throttling, machine)


@dataclass
class WindowSampler:
    """Fed Locust's progress (twice a second): samples once the warm-up is over and again
    `duration_s` later."""

    fleet: Fleet
    warmup_s: float
    duration_s: float
    databases: dict[str, str] = field(default_factory=dict)  # node name -> mysql:// URL
    samples: list[Sample] = field(default_factory=list)
    connections: list[NodeConnections] = field(default_factory=list)  # read at the end

    def __call__(self, progress: Progress) -> None:
        if progress.load_started_at is None or len(self.samples) >= 2:
            return
        opens = progress.load_started_at + self.warmup_s
        due = opens if not self.samples else opens + self.duration_s
        if time.time() >= due:
            self.samples.append(take_sample(self.fleet))
            if len(self.samples) == 2:
                self.connections = [
                    NodeConnections(node=node, **vars(database_connections(url)))
                    for node, url in self.databases.items()
                ]


@dataclass(frozen=True)
class WindowFacts:
    seconds: float
    requests: float
    cache_errors: float
    instances_answered: int
    tiers: list[ScaleoutTier]
    generator_busiest: float  # the busiest Locust process, share of one core
    machine_busy: float | None = None  # all CPUs' busy share over the window
    others_cores: float | None = None  # cores used by processes outside every tier
    counters: FleetCounters | None = None  # the instances' counters over the window, summed


def machine_busy_s() -> float:
    """The machine's busy CPU seconds so far, all CPUs together."""
    times = psutil.cpu_times()
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))


def window_facts(
    start: Sample, end: Sample, *, cores_available: dict[str, float | None]
) -> WindowFacts:
    """Each tier's cores and demand over the window. `instances` comes from /proc when the
    fleet is local, else from the instances' own process_cpu_seconds_total."""
    seconds = end.at - start.at
    delta, answered = counters_delta(start.counters, end.counters)
    requests = delta.requests
    cpu = {tier: end.cpu_s[tier] - start.cpu_s.get(tier, 0.0) for tier in end.cpu_s}
    if "instances" not in cpu:
        cpu["instances"] = delta.cpu_s
    tiers = [
        _tier(name, cpu_s, seconds, requests, cores_available.get(name))
        for name, cpu_s in cpu.items()
    ]
    if end.throttling is not None and start.throttling is not None:
        tiers = [
            _throttled(tier, start.throttling, end.throttling) if tier.name == "instances" else tier
            for tier in tiers
        ]
    busiest = max(
        (used - start.generator_by_pid.get(pid, 0.0) for pid, used in end.generator_by_pid.items()),
        default=0.0,
    )
    machine = (end.machine_busy_s - start.machine_busy_s) / seconds if seconds else None
    ours = sum(tier.cores_used or 0.0 for tier in tiers)
    return WindowFacts(
        seconds,
        requests,
        delta.cache_errors,
        answered,
        tiers,
        busiest / seconds if seconds else 0.0,
        machine_busy=machine / len(available_cpus()) if machine is not None else None,
        # Meaningful only where every tier is local (/proc); a remote fleet's are elsewhere.
        others_cores=max(0.0, machine - ours) if machine is not None and end.cpu_s else None,
        counters=delta,
    )


def facts_evidence(
    facts: WindowFacts, *, instances: int, period_us: int | None
) -> ScaleoutEvidence | None:
    """The window's evidence of what the instances did per request (None without counters)."""
    counters = facts.counters
    if counters is None:
        return None
    fleet = next((tier for tier in facts.tiers if tier.name == "instances"), None)
    throttled = fleet.nr_throttled if fleet is not None else None
    periods = (
        facts.seconds * instances * 1e6 / period_us if throttled is not None and period_us else None
    )
    return window_evidence(
        seconds=facts.seconds,
        requests=counters.requests,
        cache_hits=counters.cache_hits,
        cache_misses=counters.cache_misses,
        local_hits=counters.local_hits,
        cache_errors=counters.cache_errors,
        invalidations=counters.invalidations,
        db_queries=counters.db_queries,
        cfs_periods=periods,
        throttled_periods=float(throttled)
        if periods is not None and throttled
        else periods and 0.0,
        machine_busy=facts.machine_busy,
        others_cores=facts.others_cores,
    )


def _tier(
    name: str, cpu_s: float, seconds: float, requests: float, available: float | None
) -> ScaleoutTier:
    role = {"instances": ROLE_INSTANCES, "generator": ROLE_GENERATOR}.get(name, ROLE_SHARED)
    return ScaleoutTier(
        name=name,
        role=role,
        cores_used=cpu_s / seconds if seconds > 0 else None,
        cores_available=available,
        cpu_s=cpu_s,
        requests=requests,
        cpu_s_per_request=cpu_s / requests if requests > 0 else None,
    )


def _throttled(
    tier: ScaleoutTier, start: tuple[int, float], end: tuple[int, float]
) -> ScaleoutTier:
    return msgspec.structs.replace(
        tier, nr_throttled=end[0] - start[0], throttled_s=round(end[1] - start[1], 6)
    )


__all__ = ["Sample", "WindowFacts", "WindowSampler", "facts_evidence", "window_facts"]
