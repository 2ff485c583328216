"""Database tier: replicas for the reads the cache misses, the master for writes, and whether
every node can take the connections the app fleet's pools will open.

Replica count = replica queries/s / (per-replica capacity x utilization). The replica queries
are the cache-missing reads times the share replicas served in a run (the rest load the
master). Per-replica capacity is `replica_rps` (an assumption) unless a run measured the mean
time of a replica read: then Little's law with N = the replica class's vCPUs, X = vCPUs / query
time, a conservative bound (each query charged a core for its whole time, round trip included).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from capacity.errors import CapacityInputError
from capacity.pricing import PriceBook
from capacity.sizing import ceil_count, check_positive, check_utilization
from capacity.workload import Workload

# RDS for MySQL's default parameter group sets max_connections = {DBInstanceClassMemory/12582880}.
# DBInstanceClassMemory is a little under the class's RAM, so this is an upper bound.
RDS_MYSQL_BYTES_PER_CONNECTION = 12_582_880
GIB = 1024**3


def rds_max_connections(memory_gib: float) -> int:
    return math.floor(memory_gib * GIB / RDS_MYSQL_BYTES_PER_CONNECTION)


@dataclass(frozen=True, kw_only=True)
class DatabaseAssumptions:
    pool_size: int = 10  # per app instance, per database node (the seed's connectionLimit)
    replica_rps: float = 500.0  # cache-missing reads one replica serves at 100% (assumed)
    master_write_rps: float = 500.0  # writes the master sustains at 100% (assumed)
    query_ms: float = 50.0  # the seed's MySQL response time; for Little's law below
    # Measured in a run (summary `server`): the share of database reads replicas served, and
    # the mean time of a replica read (None: use replica_rps).
    replica_read_share: float = 1.0
    replica_query_ms: float | None = None
    min_replicas: int = 1
    master_class: str = "db.r5.large"
    replica_class: str = "db.r5.large"
    multi_az_master: bool = True
    # Warn above this share of max_connections: a rolling deploy or a scale-out that briefly
    # doubles the fleet doubles its connections too.
    connection_headroom: float = 0.5

    def __post_init__(self) -> None:
        if self.pool_size < 1:
            raise CapacityInputError(f"pool size must be at least 1, got {self.pool_size}")
        if self.min_replicas < 0:
            raise CapacityInputError(f"min replicas must be 0 or more, got {self.min_replicas}")
        check_positive("replica_rps", self.replica_rps)
        check_positive("master_write_rps", self.master_write_rps)
        check_positive("query_ms", self.query_ms)
        if not 0 <= self.replica_read_share <= 1:
            raise CapacityInputError(
                f"replica read share must be in [0, 1], got {self.replica_read_share}"
            )
        if self.replica_query_ms is not None:
            check_positive("replica_query_ms", self.replica_query_ms)
        check_utilization(self.connection_headroom)


@dataclass(frozen=True, kw_only=True)
class NodeConnections:
    node: str
    instance_class: str
    connections: int  # instances x pool size: every app instance keeps a pool to every node
    max_connections: int
    busy_connections: float  # Little's law: queries/s x query time
    warning: str | None

    @property
    def share_of_max(self) -> float:
        return self.connections / self.max_connections


@dataclass(frozen=True, kw_only=True)
class DatabaseTier:
    master_class: str
    multi_az_master: bool
    replica_class: str
    replicas: int
    db_read_rps: float
    write_rps: float
    connections: list[NodeConnections]
    replica_read_rps: float = 0.0  # the share of db_read_rps the replicas take
    replica_capacity_rps: float = 0.0  # one replica at 100%
    replica_capacity_basis: str = ""
    replicas_needed: int = 0  # for the measured reads, whatever count was given
    warnings: list[str] = field(default_factory=list)


def size_database(
    workload: Workload,
    *,
    app_instances: int,
    utilization: float,
    book: PriceBook,
    region: str,
    assumptions: DatabaseAssumptions,
    replicas: int | None = None,
) -> DatabaseTier:
    """Replica count from cache-missing reads (unless given) and a connection check per node."""
    a = assumptions
    capacity, basis = replica_capacity(a, book, region)
    replica_reads = workload.db_read_rps * a.replica_read_share
    master_reads = workload.db_read_rps - replica_reads
    needed = max(a.min_replicas, ceil_count(replica_reads / (capacity * utilization)))
    replica_count = needed if replicas is None else replicas
    warnings: list[str] = []
    if replica_count > needed:
        warnings.append(
            f"{replica_count} replicas are more than the reads need: {replica_reads:,.0f} "
            f"replica queries/s at {capacity:,.0f}/s each ({basis}) and {utilization:.0%} "
            f"utilization take {needed}"
        )
    if a.replica_read_share < 0.8:
        warnings.append(
            f"{1 - a.replica_read_share:.0%} of database reads ({master_reads:,.0f}/s) go to "
            "the master, as measured: it is sized for them too"
        )
    if workload.write_rps > a.master_write_rps * utilization:
        warnings.append(
            f"writes ({workload.write_rps:,.0f}/s) exceed what one master is assumed to take at "
            f"{utilization:.0%} ({a.master_write_rps * utilization:,.0f}/s): "
            "writes do not scale with replicas; consider sharding"
        )
    per_replica_reads = replica_reads / replica_count if replica_count else 0.0
    master_queries = workload.write_rps + master_reads
    nodes = [
        _node_connections("master", a.master_class, app_instances, master_queries, book, region, a)
    ]
    if replica_count:
        nodes.append(
            _node_connections(
                "each replica", a.replica_class, app_instances, per_replica_reads, book, region, a
            )
        )
    warnings.extend(n.warning for n in nodes if n.warning)
    return DatabaseTier(
        master_class=a.master_class,
        multi_az_master=a.multi_az_master,
        replica_class=a.replica_class,
        replicas=replica_count,
        db_read_rps=workload.db_read_rps,
        write_rps=workload.write_rps,
        connections=nodes,
        replica_read_rps=replica_reads,
        replica_capacity_rps=capacity,
        replica_capacity_basis=basis,
        replicas_needed=needed,
        warnings=warnings,
    )


def replica_capacity(a: DatabaseAssumptions, book: PriceBook, region: str) -> tuple[float, str]:
    """Queries/s one replica serves at 100%, and where the figure comes from."""
    if a.replica_query_ms is None:
        return a.replica_rps, "assumed"
    vcpu = book.rds(region, a.replica_class).vcpu
    rps = vcpu * 1000.0 / a.replica_query_ms
    return rps, f"Little's law: {vcpu} vCPUs / {a.replica_query_ms:g} ms measured per query"


def _node_connections(
    node: str,
    instance_class: str,
    app_instances: int,
    queries_per_s: float,
    book: PriceBook,
    region: str,
    a: DatabaseAssumptions,
) -> NodeConnections:
    max_conn = rds_max_connections(book.rds(region, instance_class).memory_gib)
    connections = app_instances * a.pool_size
    busy = queries_per_s * a.query_ms / 1000.0
    warning = None
    if connections > max_conn:
        warning = (
            f"{node} ({instance_class}): {app_instances} instances x pool {a.pool_size} = "
            f"{connections:,} connections exceed max_connections ~{max_conn:,}: "
            "connections will be refused"
        )
    elif connections > a.connection_headroom * max_conn:
        warning = (
            f"{node} ({instance_class}): {app_instances} instances x pool {a.pool_size} = "
            f"{connections:,} connections use {connections / max_conn:.0%} of max_connections "
            f"~{max_conn:,}; a rolling deploy or scale-out that doubles the fleet would exceed "
            f"it, while only ~{busy:,.0f} are busy at a time (queries/s x {a.query_ms:g} ms). "
            "Use smaller pools or a connection proxy (RDS Proxy, ProxySQL)"
        )
    return NodeConnections(
        node=node,
        instance_class=instance_class,
        connections=connections,
        max_connections=max_conn,
        busy_connections=busy,
        warning=warning,
    )
