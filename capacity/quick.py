"""One-call app-tier estimate for live displays (the Locust "Capacity" tab).

Small and dependency-light on purpose: it runs on every refresh of the web UI.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from capacity.pricing import PriceBook, load_price_book
from capacity.sizing import (
    DEFAULT_REDUNDANCY,
    DEFAULT_UTILIZATION,
    linear_instances,
)


def app_tier_estimate(
    target_rps: float,
    per_instance_rps: float,
    *,
    utilization: float = DEFAULT_UTILIZATION,
    redundancy: int = DEFAULT_REDUNDANCY,
    instance_type: str = "t3.medium",
    region: str = "us-east-1",
) -> dict[str, float | int | str]:
    """Instances and on-demand cost of the app tier for `target_rps`.

    >>> app_tier_estimate(1000, 10, utilization=1.0, redundancy=0)["instances"]
    100

    Raises CapacityInputError (a ValueError) for non-positive rates, utilization outside
    (0, 1], negative redundancy, or an instance type or region missing from the price file.
    """
    book = load_price_book()
    price = book.ec2(region, instance_type)
    instances = linear_instances(
        target_rps, per_instance_rps, utilization=utilization, redundancy=redundancy
    )
    hourly = instances * price.hourly_usd
    return {
        "instances": instances,
        "instance_type": instance_type,
        "region": region,
        "target_rps": float(target_rps),
        "per_instance_rps": float(per_instance_rps),
        "utilization": float(utilization),
        "redundancy": redundancy,
        "instance_hourly_usd": price.hourly_usd,
        "hourly_usd": round(hourly, 4),
        "monthly_usd": round(book.monthly(hourly), 2),
        "prices_version": book.prices_version,
    }


@dataclass(frozen=True, kw_only=True)
class PlanEstimate:
    """What `loadcap plan --per-core-rps ... --target-rps ...` would print, in brief."""

    instances: int
    instance_type: str
    app_tier_monthly_usd: float  # EC2 plus, for burstable types, the CPU credits
    monthly_total_usd: float  # the whole right-sized plan: app, database, cache, edge
    cpu_share: float | None  # each instance's CPU at the target load
    prices_version: str
    command: str  # the CLI line that prints the same plan


@lru_cache(maxsize=4)
def _book(path: Path | None) -> PriceBook:
    return load_price_book(path)


def plan_estimate(
    target_rps: float,
    *,
    per_core_rps: float | None = None,
    per_instance_rps: float | None = None,
    utilization: float = DEFAULT_UTILIZATION,
    redundancy: int = DEFAULT_REDUNDANCY,
    instance_type: str = "t3.medium",
    region: str = "us-east-1",
) -> PlanEstimate:
    """The right-sized plan through the very code `loadcap plan` runs, so a live display and
    the CLI never disagree. Give `per_core_rps` (1 / service demand) or `per_instance_rps`."""
    from capacity.planner import PlanOptions, make_plan_request
    from capacity.plans import implied_cpu_share, right_sized_plan

    book = _book(None)
    options = PlanOptions(
        per_core_rps=per_core_rps,
        per_instance_rps=per_instance_rps,
        target_rps=target_rps,
        utilization=utilization,
        redundancy=redundancy,
        instance_type=instance_type,
        region=region,
    )
    request, _ = make_plan_request(options, book)
    plan = right_sized_plan(request, book)
    cost = plan.cost.by_key()
    rate = (
        f"--per-core-rps {per_core_rps:g}"
        if per_core_rps is not None
        else f"--per-instance-rps {per_instance_rps:g}"
    )
    return PlanEstimate(
        instances=plan.instances,
        instance_type=plan.instance_type,
        app_tier_monthly_usd=round(cost.get("ec2", 0.0) + cost.get("ec2_cpu_credits", 0.0), 2),
        monthly_total_usd=round(plan.cost.monthly_total_usd, 2),
        cpu_share=implied_cpu_share(request, instance_type, plan.instances, book),
        prices_version=book.prices_version,
        command=(
            f"loadcap plan {rate} --target-rps {target_rps:g} --utilization {utilization:g} "
            f"--redundancy {redundancy} --instance-type {instance_type} --region {region}"
        ),
    )
