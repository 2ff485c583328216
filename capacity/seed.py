"""The seed plan (`seed/horizontal-scaling-strategy.es.md`) as written, and its arithmetic
checked against the price book.

The seed sized by hand: 10 req/s per instance, 100 instances for 1,000 req/s, a db.r5.xlarge
master, 3 x db.r5.large replicas, one cache.r6g.large, an ALB and CloudWatch: ~$4,800/month.
"""

from __future__ import annotations

from dataclasses import dataclass

from capacity.cost import CostTable, LineItem
from capacity.pricing import PriceBook

SEED_TARGET_RPS = 1000.0
SEED_PER_INSTANCE_RPS = 10.0
SEED_INSTANCES = 100
SEED_INSTANCE_TYPE = "t3.medium"
SEED_MASTER_CLASS = "db.r5.xlarge"
SEED_REPLICA_CLASS = "db.r5.large"
SEED_REPLICAS = 3
SEED_CACHE_NODE = "cache.r6g.large"
SEED_P95_MS = 80.0  # "Tiempo de respuesta P95: 80ms" with the cache
SEED_POOL_SIZE = 10


def seed_cost_as_written() -> CostTable:
    """The seed's cost table, figures exactly as it states them."""
    rows = [
        ("ec2", "EC2 instances", f"{SEED_INSTANCE_TYPE} x {SEED_INSTANCES}", 3000.0),
        ("rds_master", "RDS MySQL master", SEED_MASTER_CLASS, 500.0),
        ("rds_replicas", "RDS read replicas", f"{SEED_REPLICA_CLASS} x {SEED_REPLICAS}", 750.0),
        ("elasticache", "ElastiCache Redis", SEED_CACHE_NODE, 300.0),
        ("alb", "Application Load Balancer", "-", 100.0),
        ("cloudwatch", "CloudWatch", "logs + metrics", 150.0),
    ]
    return CostTable(
        items=[
            LineItem(key=k, resource=r, spec=s, monthly_usd=usd, arithmetic="as written")
            for k, r, s, usd in rows
        ]
    )


@dataclass(frozen=True)
class Reconciliation:
    key: str
    seed_usd: float
    explanation: str


def reconcile_seed(book: PriceBook, region: str) -> list[Reconciliation]:
    """Where each seed figure comes from, redone with the price book's hourly rates."""
    h = book.hours_per_month
    ec2 = book.ec2(region, SEED_INSTANCE_TYPE).hourly_usd
    master = book.rds(region, SEED_MASTER_CLASS)
    replica = book.rds(region, SEED_REPLICA_CLASS)
    cache = book.cache_node(region, SEED_CACHE_NODE).hourly_usd
    seed = seed_cost_as_written().by_key()
    return [
        Reconciliation(
            "ec2",
            seed["ec2"],
            f"$3,000 = 100 x $30.00; the price file gives 100 x ${ec2} x {h} h = "
            f"${SEED_INSTANCES * ec2 * h:,.2f} (${ec2 * h:.2f} per instance)",
        ),
        Reconciliation(
            "rds_master",
            seed["rds_master"],
            f"$500 is ${500 / h:.3f}/h; {SEED_MASTER_CLASS} is ${master.hourly_usd} x {h} = "
            f"${master.hourly_usd * h:,.2f} Single-AZ or ${master.multi_az_hourly_usd} x {h} = "
            f"${master.multi_az_hourly_usd * h:,.2f} Multi-AZ: a rounded figure between the two",
        ),
        Reconciliation(
            "rds_replicas",
            seed["rds_replicas"],
            f"$750 = 3 x $250 (${250 / h:.3f}/h); {SEED_REPLICAS} x ${replica.hourly_usd} x {h} = "
            f"${SEED_REPLICAS * replica.hourly_usd * h:,.2f}",
        ),
        Reconciliation(
            "elasticache",
            seed["elasticache"],
            f"one {SEED_CACHE_NODE} is ${cache} x {h} = ${cache * h:,.2f}; $300 matches two "
            f"nodes (${2 * cache * h:,.2f}), e.g. a primary and a replica",
        ),
        Reconciliation(
            "alb",
            seed["alb"],
            "a round guess; an ALB is a fixed hourly fee plus LCUs driven by traffic (see plan)",
        ),
        Reconciliation(
            "cloudwatch",
            seed["cloudwatch"],
            "a round guess; it depends on custom metrics, alarms and log volume (see plan)",
        ),
    ]
