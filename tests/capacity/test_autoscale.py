"""Target-tracking simulation on hand-checked daily profiles."""

from __future__ import annotations

from pathlib import Path

import pytest

from capacity.autoscale import ScalingPolicy, profile_from_shape, read_profile, simulate_day
from capacity.errors import CapacityInputError


def test_step_up_at_noon_scales_out_at_once() -> None:
    policy = ScalingPolicy(per_instance_rps=100, utilization=0.5, redundancy=1)
    day = simulate_day([100.0] * 12 + [300.0] * 12, policy)
    # 100 req/s needs 2 serving (+1 spare), 300 req/s needs 6 (+1).
    assert day.instances[0] == 3 and day.instances[-1] == 7
    assert day.instance_hours == pytest.approx(12 * 3 + 12 * 7)
    assert day.fixed_instances == 7
    assert day.fixed_instance_hours == 168
    assert day.overloaded_minutes == 0
    assert day.monthly_usd(0.0416) == pytest.approx(120 * (730 / 24) * 0.0416)


def test_scale_in_waits_for_the_cooldown() -> None:
    policy = ScalingPolicy(
        per_instance_rps=100, utilization=0.5, redundancy=1, scale_in_cooldown_s=7200
    )
    day = simulate_day([100.0, 300.0, 100.0] + [100.0] * 21, policy)
    # Hour 1 scales out at minute 60; scale-in is allowed only from minute 180.
    assert day.instances[119] == 7 and day.instances[179] == 7 and day.instances[180] == 3
    assert day.instance_hours == pytest.approx(3 + 7 + 7 + 3 * 21)


def test_scale_out_cooldown_leaves_minutes_over_capacity() -> None:
    policy = ScalingPolicy(
        per_instance_rps=100, utilization=1.0, redundancy=0, scale_out_cooldown_s=5400
    )
    day = simulate_day([100.0, 200.0, 300.0] + [300.0] * 21, policy)
    # 2 serving from minute 60; the move to 3 waits until minute 150: 30 minutes overloaded.
    assert day.instances[149] == 2 and day.instances[150] == 3
    assert day.overloaded_minutes == 30


def test_typical_day_shape_peaks_at_the_given_rate() -> None:
    profile = profile_from_shape(2000)
    assert len(profile) == 24 and max(profile) == 2000


def test_profile_csv_is_read_by_hour(tmp_path: Path) -> None:
    path = tmp_path / "day.csv"
    rows = "\n".join(f"{h},{h * 10}" for h in reversed(range(24)))
    path.write_text("hour,rps\n" + rows + "\n", encoding="utf-8")
    assert read_profile(path) == [h * 10.0 for h in range(24)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("h,rps\n0,1\n", "header"),
        ("hour,rps\n0,abc\n", "expected an hour and a number"),
        ("hour,rps\n0,1\n0,2\n", "repeated"),
        ("hour,rps\n0,1\n", "missing hours"),
    ],
)
def test_bad_profiles_are_rejected(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "day.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CapacityInputError, match=message):
        read_profile(path)


def test_profile_needs_24_non_negative_hours() -> None:
    policy = ScalingPolicy(per_instance_rps=100)
    with pytest.raises(CapacityInputError, match="24 hourly values"):
        simulate_day([1.0] * 23, policy)
    with pytest.raises(CapacityInputError, match="0 or more"):
        simulate_day([1.0] * 23 + [-1.0], policy)
