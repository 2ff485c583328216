"""Human durations (`20s`, `5m`, `1h30m`, plain seconds) and ratios (`1%`, `0.01`): one
convention for every flag, threshold and run document."""

from __future__ import annotations

import math
import re

from rundir.errors import LoadcapError

_PART = re.compile(r"(\d+(?:\.\d+)?)([hms])")
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0}
# Longer than a year is a typo, and `inf`/`nan` are not durations (float() reads both).
MAX_DURATION_S = 366 * 86400.0


class UnitError(LoadcapError, ValueError):
    """A duration, a ratio or a traffic mix given by the user could not be read."""


class DurationError(UnitError):
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


class RatioError(UnitError):
    """A ratio flag (error rate, regression allowance, utilization) could not be read."""


def parse_ratio(text: str, *, flag: str, maximum: float = 1.0) -> float:
    """One convention for every ratio flag: `1%` or `0.01`. A bare number of 1 or more is
    refused, because `--max-error-rate 1` could mean 1% or 100%.

    >>> parse_ratio("1%", flag="--max-error-rate"), parse_ratio("0.01", flag="--max-error-rate")
    (0.01, 0.01)
    """
    raw = text.strip()
    percent = raw.endswith("%")
    number = raw.removesuffix("%").strip()
    try:
        value = float(number)
    except ValueError:
        raise RatioError(f"{flag}: expected a ratio like 1% or 0.01, got {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise RatioError(f"{flag}: expected a ratio like 1% or 0.01, got {text!r}")
    if not percent and value >= 1:
        raise RatioError(
            f"{flag} {text}: a bare number must be a fraction below 1; "
            f"write {number}% for {number} percent (or {value / 100:g} as a fraction)"
        )
    ratio = value / 100 if percent else value
    if not 0 <= ratio <= maximum:
        raise RatioError(f"{flag}: must be between 0% and {maximum:.0%}, got {text!r}")
    return ratio


def format_ratio(ratio: float) -> str:
    """A ratio as a percentage that never rounds a small one away: 0.001 -> '0.1%'."""
    return f"{ratio * 100:.3g}%"
