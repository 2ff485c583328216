"""One repeat's USE verdict over the tiers, and the terminal lines of a scale-out."""

from __future__ import annotations

from capacity.scaleout import analyse_scaleout
from capacity.scaleout_lines import scaleout_summary_lines
from capacity.scaleout_verdict import repeat_verdict
from rundir.scaleout_json import ScaleoutRepeat, ScaleoutSettings, ScaleoutTier


def tier(name: str, role: str, used: float, available: float) -> ScaleoutTier:
    return ScaleoutTier(name=name, role=role, cores_used=used, cores_available=available)


FLEET_BUSY = tier("instances", "instances", 0.29, 0.30)


def test_a_saturated_generator_comes_first() -> None:
    limit, reason = repeat_verdict([FLEET_BUSY, tier("generator", "generator", 0.95, 1.0)])
    assert limit == "load_generator"
    assert reason == "the load generator used 0.95 of 1 cores"


def test_a_saturated_shared_tier_comes_before_the_instances() -> None:
    tiers = [FLEET_BUSY, tier("nginx", "shared", 0.5, 1.0), tier("master", "shared", 1.8, 2.0)]
    assert repeat_verdict(tiers) == ("master", "master used 1.80 of 2 cores")


def test_busy_instances_with_idle_shared_tiers_measure_the_fleet() -> None:
    tiers = [FLEET_BUSY, tier("nginx", "shared", 0.5, 1.0), tier("generator", "generator", 0.5, 1)]
    assert repeat_verdict(tiers)[0] == "instances"


def test_errors_then_nothing() -> None:
    idle = [tier("instances", "instances", 0.1, 0.3)]
    assert repeat_verdict(idle, error_rate=0.05, max_error_rate=0.01)[0] == "errors"
    limit, reason = repeat_verdict(idle)
    assert limit == "none" and "nothing reached 85%" in reason


def test_the_terminal_lines_say_what_each_figure_is_of() -> None:
    repeats = [
        ScaleoutRepeat(instances=n, throughput_rps=x, first_limit="instances")
        for n, x in ((1, 500.0), (1, 510.0), (2, 960.0), (2, 980.0), (3, 1400.0), (3, 1380.0))
    ]
    repeats.append(ScaleoutRepeat(instances=4, throughput_rps=1500.0, first_limit="nginx"))
    lines = scaleout_summary_lines(analyse_scaleout(repeats, ScaleoutSettings()))
    text = "\n".join(lines)
    assert "N = 1: X = 505.0 req/s (fleet, 500.0-510.0 over 2 repeats)" in text
    assert "N = 4: X = 1,500.0 req/s (fleet), C(N)/N 0.74, not fitted: nginx hit its limit" in text
    assert "sigma  (contention) = " in text and "95% intervals" in text
    assert lines[-1].startswith("at N = 100 the fit predicts")
