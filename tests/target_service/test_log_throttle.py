"""LogThrottle: one traceback per error class, then one counted line per interval."""

from __future__ import annotations

import logging

import pytest

from target_service.log_throttle import LogThrottle
from target_service.storage import StorageUnavailable


def failure() -> StorageUnavailable:
    try:
        try:
            raise ConnectionRefusedError("master gone")
        except ConnectionRefusedError as cause:
            raise StorageUnavailable("master unreachable") from cause
    except StorageUnavailable as exc:
        return exc


def test_a_thousand_repeats_in_one_interval_log_one_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [0.0]
    throttle = LogThrottle(logging.getLogger("throttle.test"), clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, "throttle.test"):
        for _ in range(1_000):
            throttle.warning("database unavailable", failure())
        assert len(caplog.records) == 1 and caplog.records[0].exc_info is not None
        now[0] = 10.5
        throttle.warning("database unavailable", failure())
        throttle.warning("database unavailable", failure())
    assert len(caplog.records) == 2
    summary = caplog.records[1]
    assert summary.exc_info is None
    assert "1000 more since the last report" in summary.getMessage()
    assert "ConnectionRefusedError" in summary.getMessage()


def test_each_error_class_gets_its_own_first_traceback(caplog: pytest.LogCaptureFixture) -> None:
    throttle = LogThrottle(logging.getLogger("throttle.test"), clock=lambda: 0.0)
    with caplog.at_level(logging.WARNING, "throttle.test"):
        throttle.warning("database unavailable", failure())
        throttle.error("unhandled error in GET /api/profile/{id}", RuntimeError("bug"))
        throttle.error("unhandled error in GET /api/profile/{id}", RuntimeError("bug"))
    assert [r.exc_info is not None for r in caplog.records] == [True, True]


def test_after_a_quiet_interval_the_next_occurrence_is_logged_whole(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [0.0]
    throttle = LogThrottle(logging.getLogger("throttle.test"), clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, "throttle.test"):
        throttle.warning("database unavailable", failure())
        now[0] = 3600.0
        throttle.warning("database unavailable", failure())
    assert [r.exc_info is not None for r in caplog.records] == [True, True]
