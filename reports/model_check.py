"""The model check: does the Utilization Law predict where a CPU-capped service saturates?

Everything loadcap says about capacity beyond what a run observed rests on U = X·D: a service
that spends D CPU seconds per request completes at most c / D requests a second on c cores.
On a small machine the generator usually gives out before the service, so the law is used
but never tested. Under a CPU cap of c cores (`--service-cpus`) the service saturates
first, and the run can compare:

- predicted: c / D, with D (pooled as `use.pooled_demand` pools it: the two busiest) from
  the stages where nothing limited the service. On a quiet machine those come before it
  saturated; on a busy one a later stage where other programs left the service short of
  CPU is unsaturated too, and its CPU per request is as good a measure of D;
- observed: the median throughput of the stages where the service's CPU was the limit
  (the plateau);
- error: observed / predicted - 1, a ratio (-0.08: observed 8 % under the prediction).

Only a run whose service ran under a cap and saturated it gets a check; without an
unsaturated stage that did enough work to measure D there is nothing to predict from.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from reports.use import Verdict, pooled_demand
from rundir.summary_json import SummaryModelCheck

BUSY_MACHINE_CORES = 0.25  # as service_capacity.DISTURBED_CORES


@dataclass(frozen=True, kw_only=True)
class ModelCheck:
    cap_cores: float
    service_cpu_s_per_request: float  # D below saturation
    demand_from: list[int]  # users of the stages D came from
    predicted_rps: float  # cap / D
    observed_rps: float  # median of the saturated stages
    observed_from: list[int]  # users of the saturated stages
    other_cores: float | None = None  # the most CPU other programs took in those stages

    @property
    def error(self) -> float:
        """observed / predicted - 1, to the 4 decimals summary.json and the sentence show."""
        return round(self.observed_rps / self.predicted_rps - 1, 4)

    @property
    def sentence(self) -> str:
        below = " and ".join(str(users) for users in self.demand_from)
        at = _span(self.observed_from)
        side = "above" if self.error >= 0 else "below"
        return (
            f"Model check: capped at {self.cap_cores:g} cores with "
            f"D = {self.service_cpu_s_per_request * 1000:.3f} ms of CPU per request (from the "
            f"unsaturated stage{'s' if len(self.demand_from) > 1 else ''} at {below} users), "
            f"the Utilization Law predicts {self.cap_cores:g} / D = {self.predicted_rps:,.0f} "
            f"req/s; the service saturated at {self.observed_rps:,.0f} req/s (median of the "
            f"stages at {at} users), {abs(self.error):.1%} {side} the prediction.{self._busy()}"
        )

    def _busy(self) -> str:
        if self.other_cores is None or self.other_cores < BUSY_MACHINE_CORES:
            return ""
        return (
            f" Other programs kept up to {self.other_cores:.2f} cores of this machine busy "
            "meanwhile: repeat the run on a quiet machine before trusting the error."
        )

    def as_summary(self) -> SummaryModelCheck:
        """summary.json's `capacity.model_check`."""
        return SummaryModelCheck(
            cap_cores=self.cap_cores,
            service_cpu_s_per_request=self.service_cpu_s_per_request,
            demand_from=self.demand_from,
            predicted_rps=round(self.predicted_rps, 1),
            observed_rps=round(self.observed_rps, 1),
            observed_from=self.observed_from,
            error=self.error,
            other_cores=self.other_cores,
            sentence=self.sentence,
        )


def model_check(found: Verdict, cap_cores: float | None) -> ModelCheck | None:
    """The check of a run whose service ran under a cap of `cap_cores` and whose first limit
    was its CPU; None otherwise, or without an unsaturated stage to measure D in."""
    if cap_cores is None or found.first_limit != "service_cpu" or found.limit_index is None:
        return None
    demand, demand_from = pooled_demand([row for row in found.rows if row.limit == "none"])
    saturated = [row for row in found.rows if row.limit == "service_cpu"]
    if demand is None or not saturated:
        return None
    used = [r for r in found.rows if r.users in demand_from or r.limit == "service_cpu"]
    return ModelCheck(
        cap_cores=cap_cores,
        service_cpu_s_per_request=demand,
        demand_from=demand_from,
        predicted_rps=cap_cores / demand,
        observed_rps=statistics.median(row.rps for row in saturated),
        observed_from=[row.users for row in saturated],
        other_cores=max((r.other_cores for r in used if r.other_cores is not None), default=None),
    )


def _span(users: list[int]) -> str:
    if len(users) == 1:
        return str(users[0])
    return f"{users[0]}-{users[-1]}" if len(users) > 2 else f"{users[0]} and {users[1]}"
