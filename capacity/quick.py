"""One-call app-tier estimate for live displays (the Locust "Capacity" tab).

Small and dependency-light on purpose: it runs on every refresh of the web UI.
"""

from __future__ import annotations

from capacity.pricing import load_price_book
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
