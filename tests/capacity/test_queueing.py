"""M/M/c against published values: Erlang C tables, M/M/1 in closed form, Halfin-Whitt."""

from __future__ import annotations

import math

import pytest

from capacity.queueing import (
    erlang_c,
    halfin_whitt_wait_probability,
    response_time_percentile,
    response_time_tail,
    square_root_staffing,
)


@pytest.mark.parametrize(
    ("servers", "offered_load", "expected"),
    [
        (2, 1.0, 1 / 3),  # by hand: a^c / c! x c / (c - a) over the sum = 0.5 x 2 / 3
        (11, 10.0, 0.6821),  # the classic call-centre example: 10 Erlangs on 11 agents
        (10, 8.0, 0.4092),
    ],
)
def test_erlang_c_matches_table_values(servers: int, offered_load: float, expected: float) -> None:
    assert erlang_c(servers, offered_load) == pytest.approx(expected, abs=5e-5)


def test_erlang_c_of_one_server_is_its_utilization() -> None:
    assert erlang_c(1, 0.6) == pytest.approx(0.6)


def test_an_overloaded_queue_always_waits() -> None:
    assert erlang_c(4, 4.0) == 1.0
    assert response_time_percentile(0.95, servers=4, arrival_rate=400, service_rate=100) == (
        math.inf
    )


def test_erlang_c_stays_finite_for_thousands_of_servers() -> None:
    wait = erlang_c(5000, 4900.0)
    assert 0 < wait < 1


def test_mm1_response_time_is_exponential_with_rate_mu_minus_lambda() -> None:
    # M/M/1: R ~ Exp(mu - lam), so p95 = ln 20 / (mu - lam) = 59.9 ms at 50 of 100 req/s
    p95 = response_time_percentile(0.95, servers=1, arrival_rate=50, service_rate=100)
    assert p95 == pytest.approx(math.log(20) / 50, rel=1e-9)
    assert response_time_tail(0.01, servers=1, arrival_rate=50, service_rate=100) == (
        pytest.approx(math.exp(-0.5))
    )


def test_percentile_inverts_the_tail_for_many_servers() -> None:
    p95 = response_time_percentile(0.95, servers=8, arrival_rate=700, service_rate=100)
    tail = response_time_tail(p95, servers=8, arrival_rate=700, service_rate=100)
    assert tail == pytest.approx(0.05, rel=1e-6)
    # more servers at the same load wait less
    assert response_time_percentile(0.95, servers=9, arrival_rate=700, service_rate=100) < p95


def test_tail_where_the_wait_and_service_rates_coincide() -> None:
    # c mu - lam = mu: the sum of two equal exponentials, (1 + mu t) e^(-mu t)
    at = response_time_tail(0.02, servers=2, arrival_rate=100, service_rate=100)
    wait = erlang_c(2, 1.0)
    expected = (1 - wait) * math.exp(-2) + wait * (1 + 2) * math.exp(-2)
    assert at == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("beta", [0.5, 1.0, 2.0])
def test_square_root_staffing_agrees_with_erlang_c_for_a_large_load(beta: float) -> None:
    servers = round(square_root_staffing(400.0, beta))
    assert erlang_c(servers, 400.0) == pytest.approx(halfin_whitt_wait_probability(beta), abs=0.01)
