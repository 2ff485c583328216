"""The AWS price book: a versioned JSON data file, validated on load, with monthly = hourly x 730.

The bundled file is `capacity/aws_prices.json`; users pass their own (same schema) to override
it. Every price carries its source and the date it was recorded, so a plan can say where its
dollars come from.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated, TypeVar

import msgspec

from capacity.errors import CapacityInputError

HOURS_PER_MONTH = 730  # AWS's own convention for monthly estimates (8,760 h / 12)
SCHEMA_VERSION = 1
BUNDLED_PRICES = "aws_prices.json"

T = TypeVar("T")

PositiveUsd = Annotated[float, msgspec.Meta(gt=0)]
NonNegativeUsd = Annotated[float, msgspec.Meta(ge=0)]
PositiveCount = Annotated[int, msgspec.Meta(gt=0)]
PositiveGib = Annotated[float, msgspec.Meta(gt=0)]
Fraction = Annotated[float, msgspec.Meta(gt=0, le=1)]
Source = Annotated[str, msgspec.Meta(min_length=1)]
IsoDate = Annotated[str, msgspec.Meta(pattern=r"^\d{4}-\d{2}-\d{2}$")]


class NodePrice(msgspec.Struct, forbid_unknown_fields=True):
    """A node billed by the hour (an EC2 instance, an RDS instance, a cache node)."""

    hourly_usd: PositiveUsd
    vcpu: PositiveCount
    memory_gib: PositiveGib
    source: Source
    date: IsoDate


class Ec2Price(NodePrice):
    arch: str = "x86_64"
    # Burstable types (t3) sustain only this CPU fraction per vCPU without buying credits.
    burstable_baseline: Fraction | None = None


class CpuCreditPrice(msgspec.Struct, forbid_unknown_fields=True):
    usd_per_vcpu_hour: PositiveUsd
    source: Source
    date: IsoDate


class RdsPrice(NodePrice):
    multi_az_hourly_usd: PositiveUsd


class CachePrice(NodePrice):
    """An ElastiCache node."""


class LcuDimensions(msgspec.Struct, forbid_unknown_fields=True):
    """What one Load Balancer Capacity Unit buys; the hour is billed on the largest dimension."""

    new_connections_per_s: Annotated[float, msgspec.Meta(gt=0)]
    active_connections_per_min: Annotated[float, msgspec.Meta(gt=0)]
    processed_gb_per_hour: Annotated[float, msgspec.Meta(gt=0)]
    rule_evaluations_per_s: Annotated[float, msgspec.Meta(gt=0)]


class AlbPrice(msgspec.Struct, forbid_unknown_fields=True):
    hourly_usd: PositiveUsd
    lcu_hourly_usd: PositiveUsd
    lcu: LcuDimensions
    source: Source
    date: IsoDate


class CloudWatchPrice(msgspec.Struct, forbid_unknown_fields=True):
    custom_metric_month_usd: NonNegativeUsd
    alarm_month_usd: NonNegativeUsd
    dashboard_month_usd: NonNegativeUsd
    logs_ingested_gb_usd: NonNegativeUsd
    source: Source
    date: IsoDate


class TransferPrice(msgspec.Struct, forbid_unknown_fields=True):
    """Data sent from this region to another AWS region (the receiving side pays nothing)."""

    usd_per_gb: NonNegativeUsd
    source: Source
    date: IsoDate


class RegionPrices(msgspec.Struct, forbid_unknown_fields=True):
    ec2: dict[str, Ec2Price]
    ec2_cpu_credits: CpuCreditPrice
    rds_mysql: dict[str, RdsPrice]
    elasticache: dict[str, CachePrice]
    alb: AlbPrice
    cloudwatch: CloudWatchPrice
    inter_region_transfer: TransferPrice | None = None  # needed to be a --regions primary


class PriceBook(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """A whole price file. Look-ups raise CapacityInputError naming what is available."""

    schema_version: int
    prices_version: str
    currency: str
    hours_per_month: PositiveCount
    regions: dict[str, RegionPrices]
    note: str = ""

    def region(self, name: str) -> RegionPrices:
        try:
            return self.regions[name]
        except KeyError:
            raise CapacityInputError(
                f"unknown region {name!r}: no sourced prices for it (the price file has: "
                f"{', '.join(sorted(self.regions))}); loadcap does not guess prices: add the "
                "region, each price with its source and date, to a file given with --prices"
            ) from None

    def ec2(self, region: str, instance_type: str) -> Ec2Price:
        return _lookup(self.region(region).ec2, instance_type, "EC2 instance type", region)

    def rds(self, region: str, instance_class: str) -> RdsPrice:
        return _lookup(self.region(region).rds_mysql, instance_class, "RDS instance class", region)

    def cache_node(self, region: str, node_type: str) -> CachePrice:
        return _lookup(self.region(region).elasticache, node_type, "ElastiCache node type", region)

    def monthly(self, hourly_usd: float) -> float:
        return hourly_usd * self.hours_per_month


def _lookup(table: dict[str, T], key: str, what: str, region: str) -> T:
    try:
        return table[key]
    except KeyError:
        known = ", ".join(sorted(table))
        raise CapacityInputError(
            f"unknown {what} {key!r} in {region}; the price file has: {known}"
        ) from None


def parse_price_book(raw: bytes, *, origin: str) -> PriceBook:
    """Decode and validate a price file; errors name the file and the offending field."""
    if not raw.strip():
        raise CapacityInputError(f"{origin}: price file is empty")
    try:
        book = msgspec.json.decode(raw, type=PriceBook)
    except msgspec.ValidationError as exc:
        raise CapacityInputError(f"{origin}: invalid price file: {exc}") from None
    except msgspec.DecodeError as exc:
        raise CapacityInputError(f"{origin}: not valid JSON: {exc}") from None
    if book.schema_version != SCHEMA_VERSION:
        raise CapacityInputError(
            f"{origin}: schema_version {book.schema_version} is not supported "
            f"(expected {SCHEMA_VERSION})"
        )
    return book


def load_price_book(path: Path | None = None) -> PriceBook:
    """The bundled price book, or the user's file when a path is given."""
    if path is None:
        return _bundled_price_book()
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CapacityInputError(f"cannot read price file {path}: {exc.strerror}") from None
    return parse_price_book(raw, origin=str(path))


@cache
def _bundled_price_book() -> PriceBook:
    raw = resources.files("capacity").joinpath(BUNDLED_PRICES).read_bytes()
    return parse_price_book(raw, origin=BUNDLED_PRICES)
