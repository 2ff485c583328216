"""A plan's availability from each tier's published SLA, and the downtime it allows a month.

Tiers a request needs in series multiply: ALB x EC2 fleet x RDS master. The EC2 figure is
AWS's Region-Level SLA (99.99 %) only for a fleet spread over two or more zones; one zone
gets the Instance-Level one. Redis is a soft dependency (the service answers from MariaDB
while it is down: docs/reliability.md, 0 failures with Redis killed under load), and so are
the read replicas (reads fall back to the master within the request): both are listed,
not counted. Active-active regions fail together only when both do: 1 - (1 - A)^regions,
taking the regions' failures as independent.

An SLA is the floor below which AWS pays credits, not a measured availability: the result
is what the plan is promised at least, which is what the seed's 99.9 % can be judged by.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Annotated

import msgspec

from capacity.errors import CapacityInputError

BUNDLED_SLAS = "aws_slas.json"
MINUTES_PER_MONTH = 730 * 60  # the month the prices use
SEED_AVAILABILITY = 0.999  # "SLA: 99.9% (43 min/mes)"


class TierSla(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    sla: Annotated[float, msgspec.Meta(gt=0, le=1)]
    source: Annotated[str, msgspec.Meta(min_length=1)]
    date: Annotated[str, msgspec.Meta(pattern=r"^\d{4}-\d{2}-\d{2}$")]


class SlaBook(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    schema_version: int
    tiers: dict[str, TierSla]
    note: str = ""

    def tier(self, key: str) -> TierSla:
        try:
            return self.tiers[key]
        except KeyError:
            raise CapacityInputError(
                f"the SLA file has no {key!r}; it has: {', '.join(sorted(self.tiers))}"
            ) from None


@cache
def load_sla_book() -> SlaBook:
    raw = resources.files("capacity").joinpath(BUNDLED_SLAS).read_bytes()
    return msgspec.json.decode(raw, type=SlaBook)


@dataclass(frozen=True, kw_only=True)
class TierAvailability:
    tier: str
    sla: TierSla
    counted: bool
    note: str


@dataclass(frozen=True, kw_only=True)
class Availability:
    tiers: list[TierAvailability]
    regions: int = 1

    @property
    def single_region(self) -> float:
        product = 1.0
        for tier in self.tiers:
            if tier.counted:
                product *= tier.sla.sla
        return product

    @property
    def availability(self) -> float:
        return 1.0 - (1.0 - self.single_region) ** self.regions

    @property
    def downtime_minutes_per_month(self) -> float:
        return (1.0 - self.availability) * MINUTES_PER_MONTH

    @property
    def dominant(self) -> TierAvailability:
        """The counted tier with the lowest SLA: the one that allows most of the downtime."""
        return min((t for t in self.tiers if t.counted), key=lambda t: t.sla.sla)

    def sentence(self) -> str:
        seed_minutes = (1.0 - SEED_AVAILABILITY) * MINUTES_PER_MONTH
        dominant = self.dominant
        regions = (
            f" over {self.regions} active-active regions (their failures taken as independent; "
            "writes wait for a replica's promotion when the primary region is lost)"
            if self.regions > 1
            else ""
        )
        return (
            f"{self.availability:.5%}{regions} from the published SLAs of the tiers in series "
            f"= {self.downtime_minutes_per_month:,.2f} min of downtime a month allowed, vs "
            f"{seed_minutes:,.1f} min for the seed's {SEED_AVAILABILITY:.1%}; "
            f"{dominant.tier} dominates ({dominant.sla.sla:.2%}): {dominant.note}"
        )


def plan_availability(
    *, zones: int, multi_az_master: bool, cache_multi_az: bool = False, regions: int = 1
) -> Availability:
    book = load_sla_book()
    spread = zones >= 2
    ec2 = "ec2_multi_az" if spread else "ec2_single_az"
    rds = "rds_multi_az" if multi_az_master else "rds_single_az"
    cache_key = "elasticache_multi_az" if cache_multi_az else "elasticache_single_az"
    second_region = "a second region (--regions) multiplies the downtime by itself"
    tiers = [
        TierAvailability(
            tier="ALB",
            sla=book.tier("alb_multi_az"),
            counted=True,
            note=f"an ALB always spans 2+ zones (AWS requires two subnets); {second_region}",
        ),
        TierAvailability(
            tier="EC2 app fleet",
            sla=book.tier(ec2),
            counted=True,
            note=(
                second_region
                if spread
                else "one zone only has the Instance-Level SLA: --zones 2 or more for the "
                "Region-Level 99.99 %"
            ),
        ),
        TierAvailability(
            tier="RDS master",
            sla=book.tier(rds),
            counted=True,
            note=(
                f"Multi-AZ is the best RDS offers; {second_region}"
                if multi_az_master
                else "Multi-AZ (--multi-az) raises it from 99.5 % to 99.95 %"
            ),
        ),
        TierAvailability(
            tier="RDS read replicas",
            sla=book.tier("rds_single_az"),
            counted=False,
            note="soft: reads fall back to the master within the request (docs/reliability.md)",
        ),
        TierAvailability(
            tier="ElastiCache Redis",
            sla=book.tier(cache_key),
            counted=False,
            note="soft: the service answers from MariaDB while Redis is down, 0 failures "
            "measured (docs/reliability.md)",
        ),
    ]
    return Availability(tiers=tiers, regions=regions)
