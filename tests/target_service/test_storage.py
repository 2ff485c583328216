"""The storage records' shared formats."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from target_service.storage import utc_timestamp


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 11, 30, 8, 0, 0, 123456),
        datetime(2026, 1, 1),  # zero microseconds are still written
        datetime(2026, 6, 1, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(999, 1, 2, 3, 4, 5, 6),
    ],
)
def test_utc_timestamp_is_the_strftime_format(moment: datetime) -> None:
    assert utc_timestamp(moment) == moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
