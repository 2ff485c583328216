import pytest

from rundir.units import DurationError, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("20s", 20.0),
        ("5m", 300.0),
        ("1h30m", 5400.0),
        ("1m30.5s", 90.5),
        ("45", 45.0),
        (" 2M ", 120.0),
    ],
)
def test_parse_duration_reads_units(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "abc", "5x", "1h1h", "m5", "0s", "-3", "30m1h2"])
def test_parse_duration_rejects_malformed_text(text: str) -> None:
    with pytest.raises(DurationError):
        parse_duration(text)


def test_format_duration_round_trips_for_locust_run_time() -> None:
    assert format_duration(5400) == "1h30m"
    assert parse_duration(format_duration(61)) == 61
    assert format_duration(0.2) == "1s"
