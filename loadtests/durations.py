"""Human durations (`20s`, `5m`, `1h30m`, plain seconds) to seconds."""

from __future__ import annotations

import math
import re

from loadtests.errors import LoadTestError

_PART = re.compile(r"(\d+(?:\.\d+)?)([hms])")
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0}
# Longer than a year is a typo, and `inf`/`nan` are not durations (float() reads both).
MAX_DURATION_S = 366 * 86400.0


class DurationError(LoadTestError):
    """A duration could not be read."""


def parse_duration(text: str) -> float:
    """Seconds in `text`: `"90"`, `"20s"`, `"5m"`, `"1h30m"`, `"1m30.5s"`.

    >>> parse_duration("1h30m")
    5400.0
    """
    raw = text.strip().lower()
    if not raw:
        raise DurationError("empty duration: expected e.g. 20s, 5m or 1h30m")
    try:
        seconds = float(raw)
    except ValueError:
        seconds = _parse_units(raw, text)
    if not math.isfinite(seconds) or seconds <= 0:
        raise DurationError(f"duration must be a positive number of seconds, got {text!r}")
    if seconds > MAX_DURATION_S:
        raise DurationError(f"duration must be at most 366 days, got {text!r}")
    return seconds


def _parse_units(raw: str, original: str) -> float:
    position, total, seen = 0, 0.0, set[str]()
    for match in _PART.finditer(raw):
        unit = match.group(2)
        if match.start() != position or unit in seen:
            break
        seen.add(unit)
        total += float(match.group(1)) * _UNIT_SECONDS[unit]
        position = match.end()
    if position != len(raw) or not seen:
        raise DurationError(f"cannot read duration {original!r}: expected e.g. 20s, 5m or 1h30m")
    return total


def format_duration(seconds: float) -> str:
    """The inverse for display and for Locust's `--run-time` (whole seconds, at least 1)."""
    whole = max(1, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    parts = ((hours, "h"), (minutes, "m"), (secs, "s"))
    return "".join(f"{value}{unit}" for value, unit in parts if value)
