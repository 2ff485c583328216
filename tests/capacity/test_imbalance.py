"""Load-balancer imbalance: random placement's busiest server, and a measured factor."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from capacity.errors import CapacityInputError
from capacity.imbalance import binomial_tail, servers_for_random_placement
from cli import app


def test_random_placement_of_1000_requests_over_capacity_100_needs_13_not_10() -> None:
    assert servers_for_random_placement(1000, 100) == 13
    assert servers_for_random_placement(1000, 100, overflow=0.01) == 14


def test_binomial_tail_matches_a_hand_computed_case() -> None:
    # X ~ Bin(4, 1/2): P(X > 2) = P(3) + P(4) = 4/16 + 1/16
    assert binomial_tail(4, 0.5, 2) == pytest.approx(5 / 16)
    assert binomial_tail(4, 0.5, 4) == 0.0


def test_bad_placement_input_is_refused() -> None:
    with pytest.raises(CapacityInputError):
        servers_for_random_placement(0, 100)


def test_a_measured_imbalance_sizes_the_app_tier_for_the_busiest_instance() -> None:
    runner = CliRunner()
    even = json.loads(runner.invoke(app, ["plan", "--per-core-rps", "300", "--json"]).stdout)
    busy = runner.invoke(app, ["plan", "--per-core-rps", "300", "--lb-imbalance", "1.3", "--json"])
    assert busy.exit_code == 0, busy.output
    data = json.loads(busy.stdout)
    # ceil(1000 / 420) + 1 = 4 evenly; ceil(1300 / 420) + 1 = 5 for the busiest instance
    assert (even["instances"], data["instances"]) == (4, 5)
    assert data["lb_imbalance"] == 1.3 and "--lb-imbalance" in data["lb_imbalance_source"]
    # only the app tier: the database still sees the real 1,000 req/s
    assert data["database"]["write_rps"] == even["database"]["write_rps"]


def test_an_imbalance_below_one_is_a_one_line_error() -> None:
    result = CliRunner().invoke(app, ["plan", "--per-core-rps", "300", "--lb-imbalance", "0.5"])
    assert result.exit_code == 2
    assert "--lb-imbalance" in result.output


def test_the_plan_says_what_an_even_split_hides_when_it_matters() -> None:
    result = CliRunner().invoke(
        app,
        ["plan", "--per-instance-rps", "100", "--utilization", "1", "--redundancy", "0", "--md"],
    )
    assert result.exit_code == 0, result.output
    assert "placed at random" in result.stdout and "need 13" in result.stdout
