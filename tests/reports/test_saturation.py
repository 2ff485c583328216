"""A step run's capacity is the best stage that met the SLO; the limit is named honestly."""

from __future__ import annotations

import pandas as pd
import pytest

from reports.saturation import MeasuredStage, measure_stage, observed_stages
from reports.slo import Slo
from reports.stage_limits import StageServer, limit_sentence

NO_FAILURES = pd.DataFrame(columns=["name", "error", "occurrences"])


def _history(stages: list[tuple[int, float, float, float]], seconds: int = 10) -> pd.DataFrame:
    """Aggregated history rows: per stage (users, req/s, p95 ms, error rate), one row a second."""
    rows, sent, failed, clock = [], 0.0, 0.0, 0
    for users, rps, p95, errors in stages:
        for _ in range(seconds):
            clock += 1
            sent += rps
            failed += rps * errors
            rows.append(
                {
                    "elapsed_s": float(clock),
                    "timestamp": 1000 + clock,
                    "users": users,
                    "endpoint": "Aggregated",
                    "requests": sent,
                    "failures": failed,
                    "p95_ms": p95,
                }
            )
    return pd.DataFrame(rows)


def test_stages_are_found_from_user_count_changes() -> None:
    history = _history([(10, 100, 5, 0), (20, 190, 8, 0), (30, 220, 150, 0)])

    assert observed_stages(history) == [(10, 1.0, 10.0), (20, 11.0, 20.0), (30, 21.0, 30.0)]


def test_stage_throughput_p95_and_errors_come_from_its_settled_half() -> None:
    history = _history([(10, 100, 5, 0), (20, 200, 150, 0.02)])

    stage = measure_stage(history, 20, 11.0, 20.0, Slo())

    assert stage is not None
    assert stage.rps == pytest.approx(200)
    assert stage.p95_ms == 150
    assert stage.error_rate == pytest.approx(0.02)
    assert not stage.met_slo


def test_slo_is_configurable() -> None:
    history = _history([(10, 100, 150, 0)])

    assert measure_stage(history, 10, 1.0, 10.0, Slo(p95_ms=200)).met_slo  # type: ignore[union-attr]
    assert not measure_stage(history, 10, 1.0, 10.0, Slo()).met_slo  # type: ignore[union-attr]


def _stage(**changes: object) -> MeasuredStage:
    fields = {
        "users": 40,
        "start_s": 0.0,
        "end_s": 10.0,
        "rps": 300.0,
        "p95_ms": 180.0,
        "error_rate": 0.0,
        "met_slo": False,
    }
    return MeasuredStage(**{**fields, **changes})  # type: ignore[arg-type]


def _server(**changes: object) -> StageServer:
    fields = {
        "rate_limited": 0.0,
        "server_errors": 0.0,
        "exhausted_pool": None,
        "cache_hit_ratio": 0.7,
        "server_p95_ms": 150.0,
    }
    return StageServer(**{**fields, **changes})  # type: ignore[arg-type]


def _sentence(
    stage: MeasuredStage,
    now: StageServer | None,
    previous: StageServer | None = None,
    log: tuple[str, ...] = (),
) -> str:
    return limit_sentence(stage, now, previous, slo=Slo(), failures=NO_FAILURES, log_lines=log)


def test_limit_is_the_pool_when_every_connection_was_in_use() -> None:
    sentence = _sentence(_stage(), _server(exhausted_pool=("master", 10, 10)))

    assert "pool 'master'" in sentence and "10 of 10" in sentence and "40 users" in sentence


def test_limit_is_the_rate_limiter_when_requests_were_refused() -> None:
    assert "rate limiter" in _sentence(_stage(error_rate=0.3), _server(rate_limited=120))


def test_limit_is_errors_when_they_break_the_slo_first() -> None:
    assert "Errors hit first: 5.0%" in _sentence(_stage(error_rate=0.05), _server())


def test_limit_is_the_cache_when_its_hit_ratio_collapsed() -> None:
    sentence = _sentence(_stage(), _server(cache_hit_ratio=0.2), _server(cache_hit_ratio=0.7))

    assert "hit ratio collapsed from 70% to 20%" in sentence


def test_queueing_outside_the_handlers_is_told_apart_from_slow_handlers() -> None:
    queued = _sentence(_stage(p95_ms=400.0), _server(server_p95_ms=20.0))
    slow = _sentence(_stage(p95_ms=180.0), _server(server_p95_ms=170.0))

    assert "queued outside them" in queued
    assert "handlers themselves slowed down" in slow


def test_without_server_metrics_the_sentence_says_it_cannot_tell() -> None:
    assert "cannot be told" in _sentence(_stage(), None)
