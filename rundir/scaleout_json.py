"""`scaleout.json` and `scaleout.csv`: what `loadcap scaleout` measured and what it concluded
(docs/run-directory.md, "## `scaleout.json`"; the SPEC's scale-out contract).

Two producers share it, one after the other: the scale-out engine measures every repeat of
every instance count (`ScaleoutRepeat`: its throughput, its verdict, each tier's CPU, each
database node's connections) and `capacity/scaleout.py` (`analyse_scaleout`) turns those into
the document: a point per instance count (the median of its repeats, their spread, the
efficiency, superlinear flags), the USL fit with its intervals, the bottleneck tier and the
seed line. Read by the scale-out report (`reports/scaleout_report.py`) and by
`loadcap plan --fit scaleout.csv` when this document sits beside the CSV.

Tier names: `instances` (the fleet, all instances together), `generator` (Locust), and the
shared servers `nginx`, `master`, `replica0`, `replica1`, …, `redis`; `role` says which kind
a tier is, so a reader needs no list of names.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import msgspec

from rundir.document import read_document, write_document

SCALEOUT_FILE = "scaleout.json"
SCALEOUT_CSV = "scaleout.csv"

# A point's `first_limit` when the instances themselves were the limit: the only points fitted.
INSTANCES_LIMIT = "instances"
# `first_limit` when every CPU of the machine was 90 % busy before any tier reached its limit.
MACHINE_LIMIT = "machine"
# `ScaleoutTier.role`: the instances, the load generator, or a server the fleet shares.
ROLE_INSTANCES = "instances"
ROLE_GENERATOR = "generator"
ROLE_SHARED = "shared"

__all__ = [
    "INSTANCES_LIMIT",
    "MACHINE_LIMIT",
    "ROLE_GENERATOR",
    "ROLE_INSTANCES",
    "ROLE_SHARED",
    "SCALEOUT_CSV",
    "SCALEOUT_CSV_HEADER",
    "SCALEOUT_FILE",
    "Interval",
    "NodeConnections",
    "ScaleoutBend",
    "ScaleoutBottleneck",
    "ScaleoutDocument",
    "ScaleoutEvidence",
    "ScaleoutFit",
    "ScaleoutPoint",
    "ScaleoutPrediction",
    "ScaleoutRepeat",
    "ScaleoutSeedLine",
    "ScaleoutSettings",
    "ScaleoutSpread",
    "ScaleoutTier",
    "read_scaleout",
    "scaleout_csv_text",
    "write_scaleout",
    "write_scaleout_csv",
]


class ScaleoutTier(msgspec.Struct, frozen=True, kw_only=True):
    """One server's CPU over a measured window: `cpu_s` seconds for the fleet's `requests`.

    For `instances`, the numbers are the whole fleet's (cores summed over the instances);
    `nr_throttled` and `throttled_s` are the CFS throttling of the instances' cgroups."""

    name: str  # "instances", "generator", "nginx", "master", "replica0", "redis"
    role: str  # "instances" | "generator" | "shared"
    cores_used: float | None = None  # ΔCPU / Δt
    cores_available: float | None = None
    cpu_s: float | None = None  # ΔCPU over the window
    requests: float | None = None  # the fleet's requests over the same window
    cpu_s_per_request: float | None = None  # service demand D_k = cpu_s / requests
    nr_throttled: int | None = None  # instances only, from the cgroups' cpu.stat
    throttled_s: float | None = None


class NodeConnections(msgspec.Struct, frozen=True, kw_only=True):
    """A database node's client connections while the fleet ran, read from the server."""

    node: str  # "master", "replica0", …
    threads_connected: int | None = None  # SHOW STATUS LIKE 'Threads_connected'
    max_connections: int | None = None  # SELECT @@max_connections


class ScaleoutEvidence(msgspec.Struct, frozen=True, kw_only=True):
    """What the instances did per request over a window, summed over the fleet's instances
    from their /metrics deltas (and the cgroups and /proc): what may explain why their CPU
    per request changes with N. Counts are over the window; a point pools its repeats."""

    seconds: float = 0.0  # the window(s)
    requests: float = 0.0  # the instances' workload requests
    cache_lookups: float = 0.0  # profile and list lookups (hits + misses)
    l1_hits: float = 0.0  # served by the instance's in-process L1, no round trip
    shared_hits: float = 0.0  # served by the shared cache (Redis): one round trip
    cache_misses: float = 0.0  # went to the database (after a round trip)
    cache_errors: float = 0.0
    invalidations: float = 0.0  # messages the instances applied from the invalidation feed
    db_queries: dict[str, float] = {}  # by pool (master, replica0, ...)
    cfs_periods: float | None = None  # CFS periods the instances had together (capped only)
    throttled_periods: float | None = None  # of them, throttled
    machine_busy: float | None = None  # share of all the machine's CPUs busy, anyone's
    others_cores: float | None = None  # cores used by processes outside every tier
    # Derived from the counts above (null when their denominator is 0):
    l1_hit_ratio: float | None = None  # l1_hits / cache_lookups
    shared_hit_ratio: float | None = None  # shared_hits / (lookups that reached it)
    round_trips_per_request: float | None = None  # (shared_hits + cache_misses) / requests
    invalidations_per_request: float | None = None
    db_queries_per_request: dict[str, float] = {}  # by pool
    throttled_share: float | None = None  # throttled_periods / cfs_periods


class ScaleoutRepeat(msgspec.Struct, frozen=True, kw_only=True):
    """One measurement of one instance count, as the engine made it."""

    instances: int
    throughput_rps: float  # the fleet's completed requests per second over the window
    run_dir: str | None = None  # the repeat's run directory, relative to the scale-out's
    sequence: int | None = None  # 0, 1, …: the order the repeats ran in
    users: int | None = None  # the offered load that measured it
    requests: int | None = None
    failures: int | None = None
    error_rate: float | None = None
    p95_ms: float | None = None
    # "instances" | "load_generator" | "nginx" | "master" | "replica0" | "redis" | "machine"
    # (the whole host was 90 % busy before any tier was) | "errors" | "none": who hit its
    # limit first (the USE verdict), with the evidence in `limit_reason`
    first_limit: str | None = None
    limit_reason: str | None = None
    cache_errors: float | None = None  # the instances' cache errors over the window
    tiers: list[ScaleoutTier] = []
    connections: list[NodeConnections] = []
    evidence: ScaleoutEvidence | None = None  # null in documents written before it existed


class ScaleoutSpread(msgspec.Struct, frozen=True, kw_only=True):
    """The repeats' range; min = max with a single repeat."""

    min_rps: float
    max_rps: float
    repeats: int


class ScaleoutPoint(msgspec.Struct, frozen=True, kw_only=True):
    """One instance count: the median of its repeats and what limited it."""

    instances: int
    throughput_rps: float  # median of the repeats
    repeats: list[ScaleoutRepeat] = []
    spread: ScaleoutSpread | None = None
    first_limit: str | None = None
    fitted: bool = False
    reason: str | None = None  # why the point is not in the fit; null when fitted
    efficiency: float | None = None  # C(N)/N = X(N) / (N · X(1)); null without N = 1
    superlinear: bool = False  # efficiency > 1 beyond the repeats' spread
    superlinear_cause: str | None = None
    tiers: list[ScaleoutTier] = []  # pooled over the repeats
    connections: list[NodeConnections] = []  # the highest count over the repeats
    evidence: ScaleoutEvidence | None = None  # pooled over the repeats that carry it


class Interval(msgspec.Struct, frozen=True, kw_only=True):
    low: float
    high: float


class ScaleoutPrediction(msgspec.Struct, frozen=True, kw_only=True):
    instances: int
    throughput_rps: float
    interval: Interval | None = None  # null when the fit has no covariance
    method: str = "delta"  # the interval's: the delta method on the fit's covariance


class ScaleoutFit(msgspec.Struct, frozen=True, kw_only=True):
    """The USL fitted on every repeat of the fitted points; intervals at `confidence` from
    the covariance and the t-distribution with `dof` degrees of freedom."""

    sigma: float
    kappa: float
    lambda_: float = msgspec.field(name="lambda")
    sigma_interval: Interval | None = None
    kappa_interval: Interval | None = None
    lambda_interval: Interval | None = None
    confidence: float = 0.95
    dof: int | None = None
    peak_n: float | None = None  # N*; null without a coherency cost (kappa = 0)
    peak_throughput: float | None = None
    predicted_at_100: ScaleoutPrediction | None = None
    r_squared: float | None = None
    points: int = 0  # measurements fitted (repeats), over `instance_counts` distinct N
    instance_counts: list[int] = []
    negative_sigma_allowed: bool = False
    warnings: list[str] = []

    def predict(self, n: float) -> float:
        """The fitted curve at `n` instances: X(N) = lambda N / (1 + sigma (N-1) + kappa N (N-1)),
        the law `capacity/usl.py` fits (a reader of the document needs no fitting code)."""
        return self.lambda_ * n / (1.0 + self.sigma * (n - 1.0) + self.kappa * n * (n - 1.0))


class ScaleoutBottleneck(msgspec.Struct, frozen=True, kw_only=True):
    """The shared tier that caps the fleet first (the Utilization Law across tiers)."""

    tier: str
    cpu_s_per_request: float  # its demand D_k, pooled over the points
    cores_available: float
    fleet_bound_rps: float  # cores_available / D_k: the fleet's ceiling, whatever N is
    per_instance_rps: float  # X(1) (else the fit's lambda)
    saturates_at_instances: float  # fleet_bound_rps / per_instance_rps (linear)
    fitted_saturates_at_instances: float | None = None  # where the USL curve reaches the bound
    demands: dict[str, float] = {}  # every shared tier's D_k, by name
    sentence: str = ""


class ScaleoutBend(msgspec.Struct, frozen=True, kw_only=True):
    """Why the curve bends, when the instances' own CPU per request changed with N: compared
    between the smallest and the largest N with that demand, with the evidence that moved."""

    from_instances: int
    to_instances: int
    demand_from_ms: float  # the instances' CPU ms per request, pooled over the repeats
    demand_to_ms: float
    demand_change: float  # relative: 0.31 = rose 31 %
    beyond_spread: bool  # every repeat at the larger N above every repeat at the smaller
    # "flat" (the demand did not rise beyond the spread) | "candidates" | "unexplained"
    verdict: str = "flat"
    # what moved with it: "l1_cache" | "invalidations" | "database" | "throttling"
    # | "machine" | "cache_errors"
    causes: list[str] = []
    findings: list[str] = []  # one sentence per cause, with its figures
    busiest_shared_tier: str | None = None  # at the larger N
    busiest_shared_share: float | None = None  # of its cores
    sentence: str = ""


class ScaleoutSeedLine(msgspec.Struct, frozen=True, kw_only=True):
    """The seed's arithmetic (100 instances x 10 req/s) beside what was measured."""

    instances: int = 100
    seed_per_instance_rps: float = 10.0
    seed_assumed_rps: float = 1000.0
    predicted_rps: float | None = None  # the fit's X(100); null without a fit
    interval: Interval | None = None
    linear_from_x1_rps: float | None = None  # 100 x X(1)
    sentence: str = ""


class ScaleoutSettings(msgspec.Struct, frozen=True, kw_only=True):
    """What produced the measurements."""

    instances: list[int] = []
    cpu_per_instance: float | None = None  # cores of each instance's CPU cap
    cfs_period_us: int | None = None
    duration_s: float | None = None  # measured window of each repeat
    warmup_s: float | None = None
    repeat: int = 1
    users_per_instance: int | None = None
    pool_size: int | None = None  # each instance's connections per database node
    # LOADCAP_* variables the local instances took from loadcap's environment (a secret's
    # value shown as "(set)"), e.g. {"LOADCAP_LOCAL_CACHE_ENTRIES": "0"}
    service_env: dict[str, str] = {}
    topology: str = "local"  # "local" (loadcap started it) | "scale_cmd" (a real fleet)
    replicas: int = 0
    redis: bool = False
    scale_cmd: str | None = None
    host: str | None = None  # the load balancer's URL
    loadcap_version: str | None = None
    machine_cpus: int | None = None
    cpu_model: str | None = None


class ScaleoutDocument(msgspec.Struct, frozen=True, kw_only=True):
    settings: ScaleoutSettings
    points: list[ScaleoutPoint] = []
    fit: ScaleoutFit | None = None
    fit_message: str | None = None  # why there is no fit, or what to read it with
    bottleneck: ScaleoutBottleneck | None = None
    seed_line: ScaleoutSeedLine | None = None
    bend: ScaleoutBend | None = None  # why the instances' demand changed with N (or did not)
    warnings: list[str] = []


def read_scaleout(path: Path) -> ScaleoutDocument:
    """scaleout.json decoded; `rundir.document.DocumentError` when unreadable or mistyped."""
    return read_document(path, ScaleoutDocument)


def write_scaleout(path: Path, document: ScaleoutDocument) -> Path:
    return write_document(path, document)


SCALEOUT_CSV_HEADER = (
    "instances",
    "throughput_rps",
    "min_rps",
    "max_rps",
    "repeats",
    "efficiency",
    "first_limit",
    "fitted",
    "superlinear",
)


def scaleout_csv_text(document: ScaleoutDocument) -> str:
    """One row per instance count; the first two columns are what `loadcap fit` reads."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(SCALEOUT_CSV_HEADER)
    for point in sorted(document.points, key=lambda p: p.instances):
        spread = point.spread
        writer.writerow(
            [
                point.instances,
                _cell(point.throughput_rps),
                _cell(spread.min_rps if spread else None),
                _cell(spread.max_rps if spread else None),
                spread.repeats if spread else len(point.repeats),
                _cell(point.efficiency),
                point.first_limit or "",
                "true" if point.fitted else "false",
                "true" if point.superlinear else "false",
            ]
        )
    return out.getvalue()


def write_scaleout_csv(path: Path, document: ScaleoutDocument) -> Path:
    path.write_text(scaleout_csv_text(document), encoding="utf-8")
    return path


def _cell(value: float | None) -> str:
    return "" if value is None else f"{value:.6g}"
