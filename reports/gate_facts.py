"""What the gate reads from a run directory: `summary.json`, and `hdr.json` when present.

The gate needs only a few facts per scope (the totals and each endpoint): request count,
error rate, throughput and latency percentiles. Percentiles come in two flavours kept side by
side, so a comparison can use the same flavour on both runs: the exact HDR ones (the `hdr`
objects in summary.json, or hdr.json) and Locust's bucketed ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import msgspec

from reports.thresholds import PERCENTILES, GateInputError

_T = TypeVar("_T")

TOTAL = "Total"
# Names a threshold may use for the run's totals; Locust calls that row "Aggregated".
TOTAL_ALIASES = frozenset({"total", "totals", "aggregated", "all"})


class _Percentiles(msgspec.Struct):
    p50_ms: float | None = None
    p90_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    p999_ms: float | None = None


class _Totals(_Percentiles, kw_only=True):
    requests: float
    failures: float
    rps: float | None  # null when Locust had nothing to divide by
    error_rate: float | None = None
    hdr: _Percentiles | None = None


class _Endpoint(_Totals, kw_only=True):
    name: str
    method: str | None = None


class _Slo(msgspec.Struct):
    p95_ms: float | None = None
    max_error_rate: float | None = None


class _OpenModel(msgspec.Struct):
    intended: dict[str, _Percentiles] | None = None


class _Capacity(msgspec.Struct):
    generator_saturated: bool = False
    first_limit: str | None = None


class _Summary(msgspec.Struct):
    totals: _Totals
    endpoints: list[_Endpoint]
    slo: _Slo | None = None
    open_model: _OpenModel | None = None
    capacity: _Capacity | None = None


class _HdrFile(msgspec.Struct):
    endpoints: dict[str, _Percentiles]


@dataclass(frozen=True)
class ScopeFacts:
    """One scope of a run: the totals or one endpoint (named `"<METHOD> <name>"`)."""

    name: str
    requests: float
    failures: float
    error_rate: float
    rps: float
    locust: dict[str, float | None]  # "p95" -> ms, Locust's bucketed percentiles
    hdr: dict[str, float | None] | None  # the exact ones, when recorded
    # "intended": an open-model run's exact latency from each send's intended time, which
    # counts queueing that service time hides; "service" otherwise.
    hdr_clock: str = "service"

    def percentile(self, metric: str, *, exact: bool) -> float | None:
        """The exact percentile when asked and recorded, Locust's otherwise."""
        if exact and self.exact_has(metric):
            return self.hdr[metric] if self.hdr else None
        return self.locust.get(metric)

    def exact_has(self, metric: str) -> bool:
        return self.hdr is not None and self.hdr.get(metric) is not None

    @property
    def has_hdr(self) -> bool:
        return self.hdr is not None


@dataclass(frozen=True)
class RunFacts:
    run_dir: Path
    totals: ScopeFacts
    endpoints: dict[str, ScopeFacts]
    slo_p95_ms: float | None
    slo_max_error_rate: float | None
    # The load generator hit its limit first: the run's throughput is the generator's.
    generator_saturated: bool = False

    def scope(self, name: str | None) -> ScopeFacts:
        """The totals (None or an alias like 'Aggregated') or one endpoint, by name."""
        if name is None or name.lower() in TOTAL_ALIASES:
            return self.totals
        if name in self.endpoints:
            return self.endpoints[name]
        # Allow the bare route when only one method uses it: "/api/profiles/{id}".
        matches = [key for key in self.endpoints if key.split(" ", 1)[-1] == name]
        if len(matches) == 1:
            return self.endpoints[matches[0]]
        known = ", ".join(sorted(self.endpoints)) or "none"
        raise GateInputError(
            f"unknown endpoint {name!r} in {self.run_dir / 'summary.json'} (known: {known})"
        )

    @property
    def has_hdr(self) -> bool:
        return self.totals.has_hdr


def load_run(run_dir: Path) -> RunFacts:
    """Read a run directory's summary.json (and hdr.json); GateInputError when unusable."""
    if not run_dir.is_dir():
        raise GateInputError(f"run directory {run_dir} does not exist")
    summary_path = run_dir / "summary.json"
    if not summary_path.is_file():
        raise GateInputError(
            f"{run_dir} has no summary.json (write it with `loadcap report {run_dir}`)"
        )
    summary = _decode(summary_path, _Summary)
    hdr_file = _decode(run_dir / "hdr.json", _HdrFile) if (run_dir / "hdr.json").is_file() else None
    hdr_by_name = hdr_file.endpoints if hdr_file else {}
    intended = (summary.open_model.intended if summary.open_model else None) or {}
    endpoints: dict[str, ScopeFacts] = {}
    for endpoint in summary.endpoints:
        key = _endpoint_key(endpoint)
        if not key:
            raise GateInputError(f"{summary_path}: an endpoint has no name")
        exact = endpoint.hdr or hdr_by_name.get(key)
        endpoints[key] = _scope(key, endpoint, exact, intended.get(key))
    exact_totals = summary.totals.hdr or hdr_by_name.get("Aggregated")
    totals = _scope(TOTAL, summary.totals, exact_totals, intended.get("Aggregated"))
    slo = summary.slo or _Slo()
    capped = summary.capacity is not None and summary.capacity.generator_saturated
    return RunFacts(
        run_dir, totals, endpoints, slo.p95_ms, slo.max_error_rate, generator_saturated=capped
    )


def _decode(path: Path, kind: type[_T]) -> _T:
    try:
        return msgspec.json.decode(path.read_bytes(), type=kind)
    except msgspec.ValidationError as exc:
        raise GateInputError(f"{path}: {exc}") from None
    except msgspec.DecodeError as exc:
        raise GateInputError(f"{path} is not valid JSON: {exc}") from None
    except OSError as exc:
        raise GateInputError(f"cannot read {path}: {exc.strerror}") from None


def _endpoint_key(endpoint: _Endpoint) -> str:
    """`"<METHOD> <name>"` as hdr.json keys it, whether or not `name` already has the method."""
    name = endpoint.name.strip()
    method = (endpoint.method or "").strip()
    if not method or name.upper().startswith(method.upper() + " "):
        return name
    return f"{method} {name}"


def _scope(
    name: str, row: _Totals, hdr: _Percentiles | None, intended: _Percentiles | None = None
) -> ScopeFacts:
    rps = row.rps or 0.0
    if row.requests < 0 or row.failures < 0 or rps < 0:
        raise GateInputError(f"summary.json: negative counts for {name}")
    error_rate = row.error_rate
    if error_rate is None:
        error_rate = row.failures / row.requests if row.requests else 0.0
    exact = intended if intended is not None else hdr
    return ScopeFacts(
        name=name,
        requests=row.requests,
        failures=row.failures,
        error_rate=error_rate,
        rps=rps,
        locust=_percentiles(row),
        hdr=_percentiles(exact) if exact is not None else None,
        hdr_clock="intended" if intended is not None else "service",
    )


def _percentiles(source: _Percentiles) -> dict[str, float | None]:
    return {name: getattr(source, f"{name}_ms") for name in PERCENTILES}
