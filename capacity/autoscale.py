"""Autoscaling over a day: target tracking on a 24-hour traffic profile, minute by minute,
against a fixed fleet sized for the peak.

The policy is AWS-style target tracking: the serving fleet aims at
ceil(load / (per_instance_rps x utilization)); it scales out when that rises and scales in
when it falls, each move allowed only once the cooldown since the last one has passed.
Redundancy instances are kept on top at all times.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

from capacity.errors import CapacityInputError
from capacity.sizing import ceil_count, check_positive, check_redundancy, check_utilization

HOURS = 24
MINUTES_PER_HOUR = 60
DAYS_PER_MONTH = 730 / 24

# An illustrative web day (share of peak per hour, UTC-agnostic): quiet night, morning ramp,
# midday plateau, evening decline. Use a measured profile when you have one.
DIURNAL_SHAPE = (
    0.30, 0.22, 0.18, 0.15, 0.15, 0.20, 0.35, 0.55, 0.75, 0.90, 0.95, 1.00,
    0.98, 0.95, 0.92, 0.90, 0.88, 0.85, 0.80, 0.72, 0.62, 0.52, 0.42, 0.35,
)  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class ScalingPolicy:
    per_instance_rps: float
    utilization: float = 0.7
    redundancy: int = 1
    scale_out_cooldown_s: float = 300.0
    scale_in_cooldown_s: float = 300.0

    def __post_init__(self) -> None:
        check_positive("per_instance_rps", self.per_instance_rps)
        check_utilization(self.utilization)
        check_redundancy(self.redundancy)
        if self.scale_out_cooldown_s < 0 or self.scale_in_cooldown_s < 0:
            raise CapacityInputError("cooldowns must be 0 or more seconds")

    def serving_for(self, rps: float) -> int:
        return max(1, ceil_count(rps / (self.per_instance_rps * self.utilization)))


@dataclass(frozen=True, kw_only=True)
class DaySimulation:
    minutes: list[float]  # load per minute
    instances: list[int]  # fleet per minute, redundancy included
    fixed_instances: int
    overloaded_minutes: int  # load above the serving fleet's full (100%) capacity

    @property
    def instance_hours(self) -> float:
        return sum(self.instances) / MINUTES_PER_HOUR

    @property
    def fixed_instance_hours(self) -> float:
        return self.fixed_instances * HOURS

    def monthly_usd(self, hourly_usd: float) -> float:
        return self.instance_hours * DAYS_PER_MONTH * hourly_usd

    def fixed_monthly_usd(self, hourly_usd: float) -> float:
        return self.fixed_instance_hours * DAYS_PER_MONTH * hourly_usd


def profile_from_shape(peak_rps: float, shape: tuple[float, ...] = DIURNAL_SHAPE) -> list[float]:
    check_positive("peak_rps", peak_rps)
    return [peak_rps * share for share in shape]


def simulate_day(hourly_rps: list[float], policy: ScalingPolicy) -> DaySimulation:
    """Minute-by-minute target tracking over a 24-hour profile (load constant within an hour)."""
    _check_profile(hourly_rps)
    minutes = [rps for rps in hourly_rps for _ in range(MINUTES_PER_HOUR)]
    serving = policy.serving_for(minutes[0])
    last_change_s = -math.inf
    fleet: list[int] = []
    overloaded = 0
    for minute, load in enumerate(minutes):
        now_s = minute * 60.0
        desired = policy.serving_for(load)
        since = now_s - last_change_s
        if (desired > serving and since >= policy.scale_out_cooldown_s) or (
            desired < serving and since >= policy.scale_in_cooldown_s
        ):
            serving, last_change_s = desired, now_s
        if load > serving * policy.per_instance_rps:
            overloaded += 1
        fleet.append(serving + policy.redundancy)
    return DaySimulation(
        minutes=minutes,
        instances=fleet,
        fixed_instances=policy.serving_for(max(hourly_rps)) + policy.redundancy,
        overloaded_minutes=overloaded,
    )


def _check_profile(hourly_rps: list[float]) -> None:
    if len(hourly_rps) != HOURS:
        raise CapacityInputError(
            f"a daily profile needs {HOURS} hourly values, got {len(hourly_rps)}"
        )
    for hour, rps in enumerate(hourly_rps):
        if not math.isfinite(rps) or rps < 0:
            raise CapacityInputError(f"hour {hour}: req/s must be 0 or more, got {rps}")
    if max(hourly_rps) <= 0:
        raise CapacityInputError("the daily profile has no traffic at all")


def read_profile(path: Path) -> list[float]:
    """A CSV with a header (`hour,rps`) and one row per hour 0..23, in any order."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise CapacityInputError(f"cannot read {path}: {exc.strerror}") from None
    rows = [r for r in csv.reader(io.StringIO(text)) if any(c.strip() for c in r)]
    if not rows:
        raise CapacityInputError(f"{path}: the file is empty")
    if rows[0][0].strip().lower() != "hour" or len(rows[0]) < 2:
        raise CapacityInputError(f"{path}: the header must be 'hour,<req/s column>'")
    by_hour: dict[int, float] = {}
    for line_no, row in enumerate(rows[1:], start=2):
        try:
            hour, rps = int(row[0]), float(row[1])
        except (ValueError, IndexError):
            raise CapacityInputError(
                f"{path}, row {line_no}: expected an hour and a number"
            ) from None
        if not 0 <= hour < HOURS or hour in by_hour:
            raise CapacityInputError(
                f"{path}, row {line_no}: hour {hour} is out of 0..23 or repeated"
            )
        by_hour[hour] = rps
    if len(by_hour) != HOURS:
        missing = sorted(set(range(HOURS)) - set(by_hour))
        raise CapacityInputError(f"{path}: missing hours {missing}")
    return [by_hour[h] for h in range(HOURS)]
