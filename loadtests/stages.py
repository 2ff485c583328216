"""Stages of the load shapes, from plain numbers: step (finds the saturation point), spike,
soak. No Locust import here: `loadcap run` and the tests use these without gevent."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from loadtests.errors import LoadTestError

DEFAULT_SHAPE_SECONDS = 60.0


@dataclass(frozen=True)
class Stage:
    start_s: float
    end_s: float
    users: int
    spawn_rate: float


@dataclass(frozen=True, kw_only=True)
class ShapeSettings:
    """The numbers a shape is built from; `users` is the base (soak: the plateau) level."""

    total_s: float = DEFAULT_SHAPE_SECONDS
    users: int = 10
    spawn_rate: float = 10.0
    step_users: int = 10
    step_seconds: float = 10.0
    spike_users: int = 0
    spike_at: float = 0.0
    spike_seconds: float = 0.0

    def __post_init__(self) -> None:
        if self.total_s <= 0 or self.users < 0 or self.spawn_rate <= 0:
            raise LoadTestError("a shape needs a positive length and spawn rate, users >= 0")
        if self.step_users <= 0 or self.step_seconds <= 0:
            raise LoadTestError("step shape: --step-users and --step-seconds must be positive")


def step_stages(s: ShapeSettings) -> list[Stage]:
    """`step_users` more users every `step_seconds` until the end: throughput stops growing
    at the saturation point while latency climbs."""
    stages, start, level = [], 0.0, 0
    while start < s.total_s:
        level += s.step_users
        end = min(s.total_s, start + s.step_seconds)
        stages.append(Stage(start, end, level, max(s.spawn_rate, float(s.step_users))))
        start = end
    return stages


def spike_stages(s: ShapeSettings) -> list[Stage]:
    """Base load, a sudden burst to `spike_users` (default 5x base), then base load again."""
    top = s.spike_users or max(1, s.users) * 5
    at = s.spike_at or s.total_s / 3
    length = s.spike_seconds or s.total_s / 6
    if at + length >= s.total_s:
        raise LoadTestError("spike shape: the spike must end before the run does")
    burst_rate = float(max(top, 1))  # everyone arrives within about a second
    return [
        Stage(0.0, at, s.users, s.spawn_rate),
        Stage(at, at + length, top, burst_rate),
        Stage(at + length, s.total_s, s.users, burst_rate),
    ]


def soak_stages(s: ShapeSettings) -> list[Stage]:
    """A steady plateau for the whole length: leaks and slow degradation show over time."""
    return [Stage(0.0, s.total_s, s.users, s.spawn_rate)]


def stage_at(stages: list[Stage], elapsed_s: float) -> tuple[int, float] | None:
    for stage in stages:
        if elapsed_s < stage.end_s:
            return stage.users, stage.spawn_rate
    return None


StageBuilder = Callable[[ShapeSettings], list[Stage]]
STAGE_BUILDERS: dict[str, StageBuilder] = {
    "step": step_stages,
    "spike": spike_stages,
    "soak": soak_stages,
}
