"""The circuit breaker the cache and the rate limiter share, on a clock the test moves."""

from __future__ import annotations

from target_service.circuit_breaker import CircuitBreaker


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Errors:
    def __init__(self) -> None:
        self.count = 0

    def inc(self) -> None:
        self.count += 1


def breaker(clock: Clock, errors: Errors | None = None) -> CircuitBreaker:
    return CircuitBreaker(errors or Errors(), retry_s=1.0, clock=clock)


def test_a_closed_breaker_lets_every_call_through() -> None:
    b = breaker(Clock())
    assert b.closed
    assert all(b.allows() for _ in range(5))


def test_a_failure_is_counted_and_stops_calls_for_retry_s() -> None:
    clock, errors = Clock(), Errors()
    b = breaker(clock, errors)
    b.failed()
    assert errors.count == 1 and not b.closed
    assert not b.allows()
    clock.now += 0.999
    assert not b.allows()


def test_an_open_breaker_lets_one_probe_through_per_interval() -> None:
    clock = Clock()
    b = breaker(clock)
    b.failed()
    clock.now += 1.0
    assert b.allows()  # the probe
    assert not b.allows()  # the next is not due yet
    clock.now += 1.0
    assert b.allows()
    assert not b.closed  # a probe alone does not close it


def test_a_failed_probe_counts_and_waits_a_full_interval_again() -> None:
    clock, errors = Clock(), Errors()
    b = breaker(clock, errors)
    b.failed()
    clock.now += 1.5
    assert b.allows()
    b.failed()
    assert errors.count == 2
    clock.now += 0.999
    assert not b.allows()
    clock.now += 0.001
    assert b.allows()


def test_a_successful_probe_closes_it() -> None:
    clock = Clock()
    b = breaker(clock)
    b.failed()
    clock.now += 1.0
    assert b.allows()
    b.succeeded()
    assert b.closed
    assert all(b.allows() for _ in range(3))
