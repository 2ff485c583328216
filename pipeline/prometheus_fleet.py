"""A run's service side read from a Prometheus server: every instance a selector matches,
summed into one exposition per snapshot (`loadcap run --prometheus-url URL`).

One `/metrics` endpoint describes one instance; a fleet behind a load balancer is many. With
a Prometheus server that scrapes them all, each snapshot of the run is one instant query:
the service's series (loadcap's own and the process metrics every client library exports)
summed over the instances, written as Prometheus text like a direct scrape. Counters summed
over instances are still counters, so the report's differences over each stage, its USE
table, service demand D and the plan describe the fleet, unchanged.

A snapshot carries the time its values describe (the instances' mean scrape time), not the
time it was asked, and the last one waits until every instance was scraped after the load
ended, so no stage loses its tail to the scrape interval.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from loadtests.errors import LoadTestError
from rundir.errors import LoadcapError

# Series the report reads (reports/service_metrics.py) and the process metrics.
SERIES = r"loadcap_.+|process_cpu_seconds_total|process_resident_memory_bytes|process_open_fds"
# Labels the service's series carry (reports/prom.py LABELS); instance and job are summed.
KEPT_LABELS = ("method", "route", "status", "kind", "result", "pool", "reason", "le")
SETTLE_TIMEOUT_S = 30.0
MARKER = "loadcap_cpu_cores_available"  # one series per instance of loadcap's service
_SELECTOR = re.compile(r"^\{.*\}$", re.DOTALL)
_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")


class PrometheusError(LoadcapError, RuntimeError):
    """The server could not be reached or refused a query; the message says which."""


def check_selector(selector: str) -> str:
    """`{job="profiles"}`-style label matchers, without a metric name; the matchers' text."""
    text = selector.strip()
    if not _SELECTOR.match(text):
        raise LoadTestError(
            f'--prometheus-selector must be label matchers in braces, e.g. {{job="profiles"}}, '
            f"got {selector!r}"
        )
    return text[1:-1].strip()


@dataclass(frozen=True)
class PrometheusApi:
    """The few calls of Prometheus' HTTP API (v1) loadcap needs."""

    url: str
    timeout_s: float = 10.0

    def query(self, expr: str, *, at: float | None = None) -> list[tuple[dict[str, str], float]]:
        """An instant query's vector: (labels, value) per series."""
        params = {"query": expr} if at is None else {"query": expr, "time": f"{at:.3f}"}
        data = self._get("/api/v1/query", params)
        if data.get("resultType") != "vector":
            raise PrometheusError(f"{expr!r} is not an instant vector query")
        return [(dict(item["metric"]), float(item["value"][1])) for item in data["result"]]

    def scalar(self, expr: str, *, at: float | None = None) -> float | None:
        """A query expected to return at most one series: its value, or None."""
        result = self.query(expr, at=at)
        return result[0][1] if result else None

    def _get(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        try:
            response = httpx.get(self.url.rstrip("/") + path, params=params, timeout=self.timeout_s)
        except httpx.HTTPError as exc:
            raise PrometheusError(f"Prometheus at {self.url} unreachable: {exc}") from None
        try:
            body = response.json()
        except ValueError:
            raise PrometheusError(
                f"{self.url}{path} answered {response.status_code}, not Prometheus' JSON"
            ) from None
        if body.get("status") != "success":
            error = body.get("error") or f"HTTP {response.status_code}"
            raise PrometheusError(f"Prometheus refused {params['query']!r}: {error}")
        data: dict[str, Any] = body["data"]
        return data


@dataclass(frozen=True, kw_only=True)
class Scrape:
    text: str  # Prometheus text format
    at: float  # unix time the values describe


class FleetMetrics:
    """Snapshots of the fleet's summed series for `MetricsSnapshots`.

    `selector` picks the instances (`{job="profiles"}`); without one, every instance that
    exports loadcap's `loadcap_cpu_cores_available` (the reference service's instances).
    """

    def __init__(
        self, api: PrometheusApi, selector: str | None, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.api = api
        self._clock = clock
        matchers = check_selector(selector) if selector else ""
        self.selector = "{" + matchers + "}" if matchers else MARKER
        if matchers:
            self._series = f'{{__name__=~"{SERIES}", {matchers}}}'
            self._cpu = f"process_cpu_seconds_total{{{matchers}}}"
        else:
            self._series = f'({{__name__=~"{SERIES}"}} and on (instance, job) {MARKER})'
            self._cpu = f"(process_cpu_seconds_total and on (instance, job) {MARKER})"

    def instances(self) -> int:
        """How many instances the selector matches now (those exporting process CPU)."""
        return int(self.api.scalar(f"count({self._cpu})") or 0)

    def check(self) -> int:
        """Before a run: the instances matched; an error that names the URL and selector."""
        try:
            count = self.instances()
        except PrometheusError as exc:
            raise LoadTestError(str(exc)) from None
        if count == 0:
            raise LoadTestError(
                f"no instance of {self.selector} exports process_cpu_seconds_total "
                f"at {self.api.url} (is Prometheus scraping the service?)"
            )
        return count

    def fetch(self, *, settled_after: float | None = None) -> Scrape | None:
        """The summed series now; with `settled_after`, once every instance has been
        scraped since that time (or after SETTLE_TIMEOUT_S, with what there is)."""
        try:
            if settled_after is not None:
                self._wait_for_scrapes(settled_after)
            at = self.api.scalar(f"avg(timestamp({self._cpu}))")
            kept = ", ".join(("__name__", *KEPT_LABELS))
            result = self.api.query(f"sum by ({kept}) ({self._series})")
            instances = self.api.scalar(f"count({self._cpu})")
        except PrometheusError:
            return None
        if at is None or not result:
            return None
        lines = [_line(labels, value) for labels, value in result]
        lines.append(f"loadcap_fleet_instances {instances or 0:g}")
        return Scrape(text="\n".join(sorted(lines)) + "\n", at=at)

    def _wait_for_scrapes(self, after: float) -> None:
        deadline = self._clock() + SETTLE_TIMEOUT_S
        while self._clock() < deadline:
            oldest = self.api.scalar(f"min(timestamp({self._cpu}))")
            if oldest is not None and oldest >= after:
                return
            time.sleep(0.25)


def _line(labels: dict[str, str], value: float) -> str:
    """One sample in Prometheus text format."""
    name = labels.pop("__name__", "")
    if not _NAME.match(name):
        name = "loadcap_unnamed"
    pairs = ",".join(f'{key}="{_escape(text)}"' for key, text in sorted(labels.items()))
    return f"{name}{{{pairs}}} {value!r}" if pairs else f"{name} {value!r}"


def _escape(label_value: str) -> str:
    return label_value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
