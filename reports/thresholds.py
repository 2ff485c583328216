"""Pass/fail thresholds for the CI gate, in a k6-like syntax.

A threshold names an optional endpoint, a metric, an operator and a limit::

    GET /api/profile/{id}:p95<50      per endpoint, milliseconds
    GET /api/profiles:p(99.9)<=250ms  k6's spelling of a percentile, with a unit
    POST /api/profiles:error_rate<1%  a ratio, as a fraction (0.01) or a percentage
    rps>=100                          no endpoint: the run's totals

The endpoint is everything before the *last* colon, so route templates may contain colons.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

from reports.errors import GateInputError
from rundir.units import RatioError, format_ratio, parse_ratio


class ThresholdSyntaxError(GateInputError):
    """A threshold expression does not parse."""


@dataclass(frozen=True)
class Metric:
    """What the gate can measure, and which direction is better."""

    name: str
    unit: str  # "ms", "" (a fraction of requests) or "req/s"
    higher_is_better: bool = False
    quantile: float | None = None  # a latency percentile's share of requests below it

    def format(self, value: float) -> str:
        if self.unit == "ms":
            return f"{value:.4g} ms"
        if self.unit == "req/s":
            return f"{value:.4g} req/s"
        return format_ratio(value)


QUANTILES = {"p50": 0.50, "p90": 0.90, "p95": 0.95, "p99": 0.99, "p999": 0.999}
PERCENTILES = tuple(QUANTILES)
METRICS: dict[str, Metric] = {
    **{name: Metric(name, "ms", quantile=quantile) for name, quantile in QUANTILES.items()},
    "error_rate": Metric("error_rate", ""),
    "rps": Metric("rps", "req/s", higher_is_better=True),
}

# k6 spellings and a few obvious synonyms, mapped onto METRICS keys.
_ALIASES = {
    "p(50)": "p50",
    "p(90)": "p90",
    "p(95)": "p95",
    "p(99)": "p99",
    "p(99.9)": "p999",
    "p99.9": "p999",
    "median": "p50",
    "med": "p50",
    "errors": "error_rate",
    "rate": "error_rate",
    "throughput": "rps",
}

OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}

_EXPRESSION = re.compile(
    r"^\s*(?P<metric>[a-z_]+|p\(\d+(?:\.\d+)?\)|p\d+(?:\.\d+)?)\s*"
    r"(?P<op><=|>=|<|>)\s*"
    r"(?P<number>[0-9]*\.?[0-9]+(?:e[-+]?\d+)?)\s*(?P<unit>ms|s|%|req/s|rps)?\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Threshold:
    """`metric op limit` on one endpoint, or on the totals when `endpoint` is None."""

    endpoint: str | None
    metric: Metric
    op: str
    limit: float

    def holds(self, measured: float) -> bool:
        return OPERATORS[self.op](measured, self.limit)

    @property
    def allowed(self) -> str:
        return f"{self.op} {self.metric.format(self.limit)}"


def parse_threshold(text: str) -> Threshold:
    """Parse one `--threshold` value; raise ThresholdSyntaxError naming what is wrong."""
    endpoint, sep, expression = text.rpartition(":")
    if not sep:
        endpoint, expression = "", text
    match = _EXPRESSION.match(expression)
    if match is None:
        raise ThresholdSyntaxError(
            f"threshold {text!r}: expected '[ENDPOINT:]METRIC OP NUMBER', "
            f"e.g. 'GET /api/profile/{{id}}:p95<50' (metrics: {', '.join(METRICS)}; "
            f"operators: {' '.join(OPERATORS)})"
        )
    metric = _metric(match["metric"], text)
    limit = _limit(float(match["number"]), (match["unit"] or "").lower(), metric, text)
    return Threshold(endpoint=endpoint.strip() or None, metric=metric, op=match["op"], limit=limit)


def totals_threshold(metric: str, op: str, limit: float) -> Threshold:
    """A threshold on the run's totals, as the `--p95-ms`-style flags give them."""
    return Threshold(endpoint=None, metric=METRICS[metric], op=op, limit=limit)


def parse_error_rate(text: str, *, flag: str = "--max-error-rate") -> float:
    """'0.01' or '1%' -> 0.01; a bare '1' (1% or 100%?) is refused with a hint."""
    return _ratio(text, flag=flag, maximum=1.0)


def parse_percentage(text: str, *, flag: str = "--max-regression") -> float:
    """'10%' or '0.1' -> 0.10, the same convention as every other ratio flag."""
    return _ratio(text, flag=flag, maximum=10.0)


def _ratio(text: str, *, flag: str, maximum: float) -> float:
    try:
        return parse_ratio(text, flag=flag, maximum=maximum)
    except RatioError as exc:
        raise GateInputError(str(exc)) from None


def _metric(raw: str, text: str) -> Metric:
    name = raw.lower()
    name = _ALIASES.get(name, name)
    if name not in METRICS:
        raise ThresholdSyntaxError(
            f"threshold {text!r}: unknown metric {raw!r} (known: {', '.join(METRICS)})"
        )
    return METRICS[name]


def _limit(number: float, unit: str, metric: Metric, text: str) -> float:
    """Normalise the limit to the metric's unit: ms for latency, a fraction for error_rate."""
    if metric.unit == "ms" and unit in {"", "ms", "s"}:
        return number * 1000 if unit == "s" else number
    if metric.unit == "" and unit in {"", "%"}:
        value = number / 100 if unit == "%" else number
        if value > 1 or (unit == "" and number >= 1):
            raise ThresholdSyntaxError(
                f"threshold {text!r}: an error rate is a fraction below 1 (0.01) or a "
                f"percentage (1%)"
            )
        return value
    if metric.unit == "req/s" and unit in {"", "req/s", "rps"}:
        return number
    raise ThresholdSyntaxError(f"threshold {text!r}: unit {unit!r} does not fit {metric.name}")
