"""Monthly cost line items (EC2, RDS, ElastiCache, ALB, CloudWatch), each with its arithmetic.

Every figure is hourly x 730 h from the price book, or a usage-priced item (LCUs, metrics,
log GB) computed from stated traffic assumptions, so a reader can redo any line by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from capacity.errors import CapacityInputError
from capacity.pricing import PriceBook
from capacity.workload import Workload

SECONDS_PER_MONTH = 730 * 3600
GB = 1e9  # AWS bills data in decimal GB


@dataclass(frozen=True, kw_only=True)
class LineItem:
    key: str  # stable id for JSON/CSV: ec2, ec2_cpu_credits, rds_master, ...
    resource: str
    spec: str
    monthly_usd: float
    arithmetic: str


@dataclass(frozen=True, kw_only=True)
class CostTable:
    items: list[LineItem]

    @property
    def monthly_total_usd(self) -> float:
        return sum(item.monthly_usd for item in self.items)

    def by_key(self) -> dict[str, float]:
        return {item.key: round(item.monthly_usd, 2) for item in self.items}

    def to_dict(self) -> dict[str, float]:
        """The `cost` object of `loadcap plan --json`: the total plus one entry per line item."""
        return {"monthly_total_usd": round(self.monthly_total_usd, 2), **self.by_key()}


@dataclass(frozen=True, kw_only=True)
class EdgeAssumptions:
    """What the load balancer and monitoring bills depend on, beyond the request rate."""

    header_bytes: float = 500.0  # request + response headers per exchange
    requests_per_connection: float = 10.0  # keep-alive reuse by clients
    connection_lifetime_s: float = 10.0
    listener_rules: int = 1  # the first 10 rule evaluations per request are free
    metrics_per_instance: int = 5  # CloudWatch agent: memory, disk, pool in use, ...
    service_metrics: int = 20  # aggregated service metrics (rate, p95, errors, cache, lag)
    alarms: int = 10
    dashboards: int = 1
    log_bytes_per_request: float = 250.0  # one JSON access-log line

    def __post_init__(self) -> None:
        numbers = (
            self.header_bytes,
            self.requests_per_connection,
            self.connection_lifetime_s,
            self.log_bytes_per_request,
        )
        if any(v < 0 for v in numbers) or self.requests_per_connection == 0:
            raise CapacityInputError("edge assumptions must be non-negative")


@dataclass(frozen=True, kw_only=True)
class Fleet:
    """The resources a plan buys; priced by `price_fleet`."""

    instances: int
    instance_type: str
    master_class: str
    multi_az_master: bool
    replicas: int
    replica_class: str
    cache_node_type: str
    cache_nodes: int = 1
    # Sustained CPU share of each instance; burstable types pay credits above their baseline.
    cpu_utilization: float | None = None
    notes: list[str] = field(default_factory=list)


def price_fleet(
    fleet: Fleet,
    workload: Workload,
    *,
    book: PriceBook,
    region: str,
    edge: EdgeAssumptions,
    row_bytes: float,
    page_size: int,
) -> CostTable:
    items = [_ec2(fleet, book, region)]
    credits = cpu_credit_item(
        instances=fleet.instances,
        instance_type=fleet.instance_type,
        cpu_utilization=fleet.cpu_utilization,
        book=book,
        region=region,
    )
    if credits is not None:
        items.append(credits)
    items += _rds(fleet, book, region)
    cache = book.cache_node(region, fleet.cache_node_type)
    items.append(
        _units(
            "elasticache",
            "ElastiCache Redis",
            fleet.cache_node_type,
            fleet.cache_nodes,
            cache.hourly_usd,
            book,
        )
    )
    items.append(_alb(workload, book, region, edge, row_bytes, page_size))
    items.append(_cloudwatch(fleet.instances, workload, book, region, edge))
    return CostTable(items=items)


def _by_the_hour(
    key: str, resource: str, spec: str, *, hourly_usd: float, hourly: str, book: PriceBook
) -> LineItem:
    """An item billed by the hour, for a month; `hourly` says how its hourly price is made."""
    return LineItem(
        key=key,
        resource=resource,
        spec=spec,
        monthly_usd=book.monthly(hourly_usd),
        arithmetic=f"{hourly} x {book.hours_per_month} h",
    )


def _units(
    key: str, resource: str, kind: str, count: int, hourly_usd: float, book: PriceBook
) -> LineItem:
    """`count` identical units of `kind` at an hourly price, for a month."""
    return LineItem(
        key=key,
        resource=resource,
        spec=f"{kind} x {count}",
        monthly_usd=count * book.monthly(hourly_usd),
        arithmetic=f"{count} x ${hourly_usd}/h x {book.hours_per_month} h",
    )


def _ec2(fleet: Fleet, book: PriceBook, region: str) -> LineItem:
    price = book.ec2(region, fleet.instance_type)
    return _units(
        "ec2", "EC2 instances", fleet.instance_type, fleet.instances, price.hourly_usd, book
    )


def cpu_credit_item(
    *,
    instances: int,
    instance_type: str,
    cpu_utilization: float | None,
    book: PriceBook,
    region: str,
) -> LineItem | None:
    """T3 'unlimited' bills sustained CPU above the baseline per vCPU-hour."""
    price = book.ec2(region, instance_type)
    baseline, load = price.burstable_baseline, cpu_utilization
    if baseline is None or load is None or load <= baseline:
        return None
    credit = book.region(region).ec2_cpu_credits.usd_per_vcpu_hour
    surplus = load - baseline
    return _by_the_hour(
        "ec2_cpu_credits",
        "EC2 CPU credits (T3 unlimited)",
        f"{load:.0%} sustained vs {baseline:.0%} baseline",
        hourly_usd=instances * price.vcpu * surplus * credit,
        hourly=(
            f"{instances} x {price.vcpu} vCPU x ({load:.2f} - {baseline:.2f}) x ${credit}/vCPU-h"
        ),
        book=book,
    )


def _rds(fleet: Fleet, book: PriceBook, region: str) -> list[LineItem]:
    master = book.rds(region, fleet.master_class)
    master_hourly = master.multi_az_hourly_usd if fleet.multi_az_master else master.hourly_usd
    deployment = "Multi-AZ" if fleet.multi_az_master else "Single-AZ"
    items = [
        _by_the_hour(
            "rds_master",
            "RDS MySQL master",
            f"{fleet.master_class} {deployment}",
            hourly_usd=master_hourly,
            hourly=f"${master_hourly}/h",
            book=book,
        )
    ]
    replica = book.rds(region, fleet.replica_class)
    items.append(
        _units(
            "rds_replicas",
            "RDS read replicas",
            fleet.replica_class,
            fleet.replicas,
            replica.hourly_usd,
            book,
        )
    )
    return items


def response_bytes(workload: Workload, *, row_bytes: float, page_size: int) -> float:
    """Mix-weighted body size: a list page carries `page_size` profiles, the rest one."""
    share = workload.mix.shares()
    one_row = share["get"] + share["create"] + share["patch"]
    return share["list"] * page_size * row_bytes + one_row * row_bytes


def _alb(
    workload: Workload,
    book: PriceBook,
    region: str,
    edge: EdgeAssumptions,
    row_bytes: float,
    page_size: int,
) -> LineItem:
    alb = book.region(region).alb
    rps = workload.target_rps
    per_request = response_bytes(workload, row_bytes=row_bytes, page_size=page_size)
    per_request += edge.header_bytes
    new_conn = rps / edge.requests_per_connection
    dimensions = {
        "new connections": new_conn / alb.lcu.new_connections_per_s,
        "active connections": new_conn
        * edge.connection_lifetime_s
        / alb.lcu.active_connections_per_min,
        "processed bytes": rps * per_request * 3600 / GB / alb.lcu.processed_gb_per_hour,
        "rule evaluations": rps * max(0, edge.listener_rules - 10) / alb.lcu.rule_evaluations_per_s,
    }
    driver = max(dimensions, key=lambda k: dimensions[k])
    lcus = dimensions[driver]
    return _by_the_hour(
        "alb",
        "Application Load Balancer",
        f"{lcus:.1f} LCU, by {driver}; ~{per_request / 1000:.1f} kB/request",
        hourly_usd=alb.hourly_usd + lcus * alb.lcu_hourly_usd,
        hourly=f"(${alb.hourly_usd}/h + {lcus:.2f} LCU x ${alb.lcu_hourly_usd}/LCU-h)",
        book=book,
    )


def _cloudwatch(
    instances: int, workload: Workload, book: PriceBook, region: str, edge: EdgeAssumptions
) -> LineItem:
    cw = book.region(region).cloudwatch
    metrics = instances * edge.metrics_per_instance + edge.service_metrics
    log_gb = workload.target_rps * edge.log_bytes_per_request * SECONDS_PER_MONTH / GB
    monthly = (
        metrics * cw.custom_metric_month_usd
        + edge.alarms * cw.alarm_month_usd
        + edge.dashboards * cw.dashboard_month_usd
        + log_gb * cw.logs_ingested_gb_usd
    )
    return LineItem(
        key="cloudwatch",
        resource="CloudWatch",
        spec=f"{metrics} metrics, {edge.alarms} alarms, {log_gb:,.0f} GB logs/month",
        monthly_usd=monthly,
        arithmetic=(
            f"{metrics} x ${cw.custom_metric_month_usd} + {edge.alarms} x "
            f"${cw.alarm_month_usd} + {edge.dashboards} x ${cw.dashboard_month_usd} + "
            f"{log_gb:,.1f} GB x ${cw.logs_ingested_gb_usd}"
        ),
    )
