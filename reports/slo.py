"""The service-level objective a run is judged against."""

from __future__ import annotations

from dataclasses import dataclass

from reports.errors import ReportInputError
from rundir.summary_json import SummarySlo


@dataclass(frozen=True, kw_only=True)
class Slo:
    """Latency and error objective: p95 at or under `p95_ms`, error rate at or under the max.

    The defaults are the seed's: p95 ≤ 100 ms and at most 1% of requests failing.
    """

    p95_ms: float = 100.0
    max_error_rate: float = 0.01

    def __post_init__(self) -> None:
        if not self.p95_ms > 0:
            raise ReportInputError(f"SLO p95 must be a positive number of ms, got {self.p95_ms}")
        if not 0 <= self.max_error_rate <= 1:
            raise ReportInputError(
                f"SLO error rate must be a fraction between 0 and 1, got {self.max_error_rate}"
            )

    def met_by(self, *, p95_ms: float, error_rate: float) -> bool:
        return p95_ms <= self.p95_ms and error_rate <= self.max_error_rate

    def as_summary(self) -> SummarySlo:
        """summary.json's `slo`."""
        return SummarySlo(p95_ms=self.p95_ms, max_error_rate=self.max_error_rate)
