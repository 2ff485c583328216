"""The smallest app fleet whose predicted p95 at the target load meets the latency objective.

Model (`mmc`): every vCPU is one server (one worker per vCPU) serving at mu = 1 / D, D the
measured CPU seconds per request; arrivals at the target rate; M/M/c (Erlang C) gives the
p95 of waiting plus service. The service also waits off-CPU (database, cache, network): that
latency is taken as a constant, the floor, calibrated on the run's most lightly loaded stage
(its p95 minus the p95 of a CPU service time alone). M/M/c rather than an M/G/c
approximation (Allen-Cunneen scales the wait by (1 + Cs^2) / 2) because a run measures D's
mean (process CPU over requests), not the spread of per-request service times; exponential
service (Cs = 1) is the cautious choice for a web service, whose Cs is usually below 1.

With a USL fit over instance counts, each instance's rate falls with the fleet's size as the
fit says: mu(n) = mu x X(n) / (n X(1)), so contention in shared tiers caps the fleet.

The serving fleet also never runs above 85 % of its CPU: on a measured capped instance the
observed p95 went either way from there, up to 3 x this model's prediction (docs/capacity.md).

Zones: with `zones` >= 2 and `survive_zone_loss`, the instances that meet the objective must
remain after one zone's instances are gone; the fleet is spread evenly, so it is
zones x ceil(serving / (zones - 1)). Otherwise redundancy is added and the fleet is rounded
up to a multiple of the zones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from capacity.figures import Figure
from capacity.queueing import response_time_percentile
from capacity.sizing import ceil_count

if TYPE_CHECKING:
    from capacity.usl import UslFit

MODEL = "mmc"
P95 = 0.95
# The search for a fleet stops here: past any fleet this tool should price.
MAX_SLO_INSTANCES = 2_000
# Measured (docs/capacity.md, a capped instance): from ~85 % of capacity the observed p95
# went either way, up to 3 x the M/M/c prediction, so the serving fleet never runs hotter.
MAX_UTILIZATION = 0.85


@dataclass(frozen=True, kw_only=True)
class LatencyObjective:
    """What the fleet is sized for: a p95 and the off-CPU latency every request pays."""

    p95_ms: Figure
    floor_ms: Figure
    # Given with --slo-p95-ms: a fleet that cannot meet it is an error. Taken from a run's
    # SLO: the plan falls back to the utilization rule and says why.
    required: bool = True


@dataclass(frozen=True, kw_only=True)
class ServerRate:
    """One server (a vCPU with its worker): requests/s it completes when busy."""

    per_server_rps: Figure
    servers_per_instance: int
    fit: UslFit | None = None

    def at(self, instances: int) -> float:
        """mu for a fleet of `instances`: the USL's efficiency X(n) / (n X(1)) applied."""
        if self.fit is None or instances <= 1:
            return self.per_server_rps.value
        efficiency = self.fit.predict(instances) / (instances * self.fit.predict(1))
        return self.per_server_rps.value * efficiency


@dataclass(frozen=True, kw_only=True)
class ZonePlacement:
    zones: int = 1
    survive_zone_loss: bool = True
    redundancy: int = 1

    @property
    def spreads(self) -> bool:
        return self.zones >= 2 and self.survive_zone_loss

    def fleet(self, serving: int) -> int:
        """Instances bought for `serving` instances that must stay up."""
        if self.spreads:
            return self.zones * math.ceil(serving / (self.zones - 1))
        return self.zones * math.ceil((serving + self.redundancy) / self.zones)

    def how(self, serving: int) -> str:
        fleet = self.fleet(serving)
        if self.spreads:
            per_zone = fleet // self.zones
            return (
                f"{self.zones} zones x {per_zone} = {fleet}, so {fleet - per_zone} remain with one "
                f"zone lost (>= {serving} needed)"
            )
        spread = f", spread over {self.zones} zones" if self.zones > 1 else ""
        return f"{serving} + {self.redundancy} redundancy = {fleet}{spread}"


@dataclass(frozen=True, kw_only=True)
class SloSizing:
    model: str
    reachable: bool
    serving_instances: int  # the fewest that meet the objective at the target (0: none do)
    instances: int  # bought: with zone-loss headroom or redundancy
    servers: int  # instances x vCPUs
    predicted_p95_ms: float  # at the target with every instance up
    predicted_p95_serving_ms: float  # with only the serving instances up
    utilization: float  # target / (servers x mu) with every instance up
    rule_of_thumb_instances: int
    objective: LatencyObjective
    rate: ServerRate
    placement: ZonePlacement
    target_rps: float

    def sentence(self) -> str:
        o, r = self.objective, self.rate
        basis = (
            f"M/M/c (Erlang C): {r.servers_per_instance} servers per instance at "
            f"{r.per_server_rps.value:,.1f} req/s each ({r.per_server_rps.source}); "
            f"off-CPU floor {o.floor_ms.value:,.1f} ms ({o.floor_ms.source})"
        )
        if not self.reachable:
            return (
                f"no fleet of up to {MAX_SLO_INSTANCES:,} instances meets p95 <= "
                f"{o.p95_ms.value:g} ms at {self.target_rps:,.0f} req/s; {basis}"
            )
        return (
            f"{self.serving_instances} serving: predicted p95 "
            f"{self.predicted_p95_serving_ms:,.1f} ms <= {o.p95_ms.value:g} ms "
            f"({o.p95_ms.source}) at {self.target_rps:,.0f} req/s; "
            f"{self.placement.how(self.serving_instances)}; all up: p95 "
            f"{self.predicted_p95_ms:,.1f} ms at {self.utilization:.0%} CPU (serving fleet at "
            f"most {MAX_UTILIZATION:.0%}: past it the measured p95 strayed up to 3 x from the "
            f"model); {basis}"
        )


def predicted_p95_ms(target_rps: float, instances: int, rate: ServerRate, floor_ms: float) -> float:
    """p95 of the response time at `target_rps` over `instances` (inf when overloaded)."""
    servers = instances * rate.servers_per_instance
    p95_s = response_time_percentile(
        P95, servers=servers, arrival_rate=target_rps, service_rate=rate.at(instances)
    )
    return floor_ms + p95_s * 1000.0


def size_for_latency(
    target_rps: float,
    *,
    objective: LatencyObjective,
    rate: ServerRate,
    placement: ZonePlacement,
    rule_of_thumb_instances: int,
) -> SloSizing:
    """The smallest serving fleet meeting the objective, then the fleet bought around it."""
    serving = _fewest_serving(target_rps, objective, rate)
    fleet = placement.fleet(serving) if serving else 0
    servers = fleet * rate.servers_per_instance
    floor = objective.floor_ms.value
    return SloSizing(
        model=MODEL,
        reachable=serving > 0,
        serving_instances=serving,
        instances=fleet,
        servers=servers,
        predicted_p95_ms=predicted_p95_ms(target_rps, fleet, rate, floor) if fleet else math.inf,
        predicted_p95_serving_ms=(
            predicted_p95_ms(target_rps, serving, rate, floor) if serving else math.inf
        ),
        utilization=target_rps / (servers * rate.at(fleet)) if fleet else math.inf,
        rule_of_thumb_instances=rule_of_thumb_instances,
        objective=objective,
        rate=rate,
        placement=placement,
        target_rps=target_rps,
    )


def _fewest_serving(target_rps: float, objective: LatencyObjective, rate: ServerRate) -> int:
    """0 when no fleet up to MAX_SLO_INSTANCES meets the objective."""
    slo, floor = objective.p95_ms.value, objective.floor_ms.value
    if floor + math.log(1 / (1 - P95)) / rate.per_server_rps.value * 1000.0 > slo:
        return 0  # even with no waiting, a request's own service and floor exceed the objective
    per_instance = rate.per_server_rps.value * rate.servers_per_instance
    stable = ceil_count(target_rps / (per_instance * MAX_UTILIZATION))
    for instances in range(max(1, stable), MAX_SLO_INSTANCES + 1):
        p95 = predicted_p95_ms(target_rps, instances, rate, floor)
        busy = target_rps / (instances * rate.servers_per_instance * rate.at(instances))
        if p95 <= slo and busy <= MAX_UTILIZATION:
            return instances
        if rate.fit is not None and rate.fit.peak_n is not None and instances > rate.fit.peak_n:
            return 0  # past the USL's peak more instances only slow each other down
    return 0
