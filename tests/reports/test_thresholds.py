"""k6-like threshold expressions: what parses, to what, and what is refused."""

from __future__ import annotations

import pytest

from reports.errors import GateInputError
from reports.thresholds import (
    ThresholdSyntaxError,
    parse_error_rate,
    parse_percentage,
    parse_threshold,
)


def test_endpoint_threshold_keeps_the_route_template() -> None:
    threshold = parse_threshold("GET /api/profile/{id}:p95<50")
    assert threshold.endpoint == "GET /api/profile/{id}"
    assert (threshold.metric.name, threshold.op, threshold.limit) == ("p95", "<", 50.0)


def test_threshold_without_endpoint_applies_to_totals() -> None:
    threshold = parse_threshold("rps >= 100")
    assert threshold.endpoint is None
    assert (threshold.metric.name, threshold.op, threshold.limit) == ("rps", ">=", 100.0)


def test_endpoint_is_everything_before_the_last_colon() -> None:
    assert parse_threshold("GET /api/v1:batch:p99<=80").endpoint == "GET /api/v1:batch"


@pytest.mark.parametrize(
    ("text", "metric", "limit"),
    [
        ("p(95)<200", "p95", 200.0),
        ("p(99.9)<1s", "p999", 1000.0),
        ("p999<=250ms", "p999", 250.0),
        ("p90<0.5s", "p90", 500.0),
        ("median<5", "p50", 5.0),
        ("error_rate<1%", "error_rate", 0.01),
        ("error_rate<=0.02", "error_rate", 0.02),
        ("throughput>10rps", "rps", 10.0),
    ],
)
def test_k6_spellings_and_units_normalise(text: str, metric: str, limit: float) -> None:
    threshold = parse_threshold(text)
    assert threshold.metric.name == metric
    assert threshold.limit == pytest.approx(limit)


@pytest.mark.parametrize(
    ("op", "measured", "holds"),
    [("<", 50.0, False), ("<=", 50.0, True), (">", 50.0, False), (">=", 50.0, True)],
)
def test_operators_compare_measured_against_limit(op: str, measured: float, holds: bool) -> None:
    assert parse_threshold(f"p95{op}50").holds(measured) is holds


@pytest.mark.parametrize(
    "text",
    [
        "p95=50",  # not an operator
        "p95<",  # no limit
        "GET /api/profiles",  # no expression at all
        "p96<3",  # unknown percentile
        "latency<3",  # unknown metric
        "p95<5%",  # a percentage is not a latency
        "rps<5ms",  # a duration is not a throughput
        "error_rate<150%",  # more than every request
        "p95<-1",  # negative limits are not numbers here
    ],
)
def test_malformed_thresholds_are_refused(text: str) -> None:
    with pytest.raises(ThresholdSyntaxError):
        parse_threshold(text)


def test_syntax_error_is_a_gate_input_error_with_an_example() -> None:
    with pytest.raises(GateInputError, match=r"e\.g\. 'GET /api/profile/\{id\}:p95<50'"):
        parse_threshold("p95 is small")


@pytest.mark.parametrize(("text", "value"), [("10%", 0.10), ("0.1", 0.10), (" 2.5 % ", 0.025)])
def test_regression_allowance_is_a_percentage(text: str, value: float) -> None:
    assert parse_percentage(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["ten", "-5%", "", "10"])
def test_bad_regression_allowance_is_refused(text: str) -> None:
    with pytest.raises(GateInputError):
        parse_percentage(text)


@pytest.mark.parametrize(("text", "value"), [("0.01", 0.01), ("1%", 0.01), ("0", 0.0)])
def test_error_rate_flag_takes_fraction_or_percentage(text: str, value: float) -> None:
    assert parse_error_rate(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["1", "2", "5", "101%", "lots"])
def test_error_rate_flag_refuses_impossible_rates(text: str) -> None:
    with pytest.raises(GateInputError):
        parse_error_rate(text)
