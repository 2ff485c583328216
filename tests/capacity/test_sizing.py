"""App-tier sizing: the formula on hand-computed cases, USL sizing, bad flag values."""

from __future__ import annotations

import numpy as np
import pytest

from capacity.errors import CapacityInputError
from capacity.quick import app_tier_estimate
from capacity.sizing import linear_instances, usl_instances
from capacity.usl import fit_usl, usl_throughput


def test_seed_arithmetic_gives_100_instances() -> None:
    assert linear_instances(1000, 10, utilization=1.0, redundancy=0) == 100


@pytest.mark.parametrize(
    ("target", "per_instance", "utilization", "redundancy", "expected"),
    [
        (1000, 10, 0.7, 1, 144),  # ceil(142.86) + 1
        (1000, 250, 0.7, 1, 7),  # ceil(5.71) + 1
        (700, 10, 0.7, 0, 100),  # exactly 100: float noise must not round up to 101
        (100, 1000, 0.7, 2, 3),
    ],
)
def test_linear_instances_hand_computed(
    target: float, per_instance: float, utilization: float, redundancy: int, expected: int
) -> None:
    assert (
        linear_instances(target, per_instance, utilization=utilization, redundancy=redundancy)
        == expected
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"utilization": 0.0}, r"utilization must be in \(0, 1\]"),
        ({"utilization": 1.2}, r"utilization must be in \(0, 1\]"),
        ({"redundancy": -1}, "redundancy must be 0 or more"),
        ({"per_instance_rps": 0.0}, "per_instance_rps must be a positive"),
        ({"target_rps": -5.0}, "target_rps must be a positive"),
    ],
)
def test_bad_values_raise(kwargs: dict[str, float], message: str) -> None:
    args = {"target_rps": 1000.0, "per_instance_rps": 10.0, "utilization": 0.7, "redundancy": 1}
    args.update(kwargs)
    with pytest.raises(CapacityInputError, match=message):
        linear_instances(
            args["target_rps"],
            args["per_instance_rps"],
            utilization=args["utilization"],
            redundancy=int(args["redundancy"]),
        )


def test_usl_sizing_takes_the_smallest_fleet_whose_modelled_throughput_carries_the_target() -> None:
    n = np.array([1, 2, 4, 8, 16, 32], dtype=float)
    fit = fit_usl(list(n), list(usl_throughput(n, 0.05, 0.0, 100.0)))
    sizing = usl_instances(500, fit, utilization=1.0, redundancy=1)
    # X(N) = 100N / (1 + 0.05(N-1)): X(6) = 480, X(7) = 538.5 -> 7 serving + 1 spare.
    assert sizing.reachable
    assert sizing.instances == 8
    assert sizing.modelled_rps == pytest.approx(700 / 1.3)


def test_usl_sizing_reports_a_target_beyond_the_peak_as_unreachable() -> None:
    n = np.array([1, 2, 4, 8, 16, 32], dtype=float)
    fit = fit_usl(list(n), list(usl_throughput(n, 0.05, 0.001, 100.0)))
    assert fit.peak_throughput is not None
    sizing = usl_instances(fit.peak_throughput * 2, fit, utilization=0.7, redundancy=1)
    assert not sizing.reachable
    assert sizing.instances == 0


def test_quick_estimate_prices_the_app_tier() -> None:
    estimate = app_tier_estimate(1000, 10, utilization=1.0, redundancy=0)
    assert estimate["instances"] == 100
    assert estimate["instance_type"] == "t3.medium"
    assert estimate["hourly_usd"] == pytest.approx(4.16)
    assert estimate["monthly_usd"] == pytest.approx(3036.80)


def test_quick_estimate_defaults_keep_headroom_and_a_spare() -> None:
    estimate = app_tier_estimate(1000, 250, instance_type="c7g.large")
    assert estimate["instances"] == 7
    assert estimate["monthly_usd"] == pytest.approx(7 * 0.0725 * 730, abs=0.01)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"instance_type": "t9.gigantic"}, "unknown EC2 instance type"),
        ({"region": "eu-nowhere-1"}, "unknown region"),
        ({"utilization": 1.5}, "utilization"),
    ],
)
def test_quick_estimate_rejects_bad_choices(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        app_tier_estimate(1000, 10, **kwargs)  # type: ignore[arg-type]
