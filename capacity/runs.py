"""What a plan takes from a run directory's `summary.json` (docs/run-directory.md)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from capacity.errors import CapacityInputError
from capacity.workload import TrafficMix

# A per-core figure from service demand stands for the whole instance only when the run's
# limit was CPU (or nothing, or the generator): a pool, errors or latency limit does not
# scale with vCPUs.
CPU_BOUND_LIMITS = ("load_generator", "service_cpu", "none")


@dataclass(frozen=True, kw_only=True)
class RunFacts:
    per_instance_rps: float
    source: str
    per_core_rps: float | None = None  # 1 / D (Utilization Law), when the run measured D
    demand_source: str = ""
    p95_ms: float | None = None
    mix: TrafficMix | None = None
    cache_hit_ratio: float | None = None
    replica_read_share: float | None = None  # reads served by replicas / all database reads
    replica_query_ms: float | None = None  # mean time of a replica read
    notes: list[str] = field(default_factory=list)


def read_run(run_dir: Path) -> RunFacts:
    path = run_dir / "summary.json"
    if not path.is_file():
        raise CapacityInputError(f"{run_dir}: no summary.json (run `loadcap report` first)")
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CapacityInputError(f"{path}: unreadable summary: {exc}") from None
    if not isinstance(summary, dict) or not isinstance(summary.get("totals"), dict):
        raise CapacityInputError(f"{path}: expected an object with 'totals'")
    totals: dict[str, Any] = summary["totals"]
    notes: list[str] = []
    raw_facts = summary.get("capacity")
    facts: dict[str, Any] = raw_facts if isinstance(raw_facts, dict) else {}
    limit = str(facts.get("first_limit") or "")
    capped = facts.get("generator_saturated") is True
    capacity = _number(summary.get("capacity_rps"))
    if capacity is not None and capacity > 0:
        rps, source = capacity, f"capacity_rps {capacity:,.1f} from {run_dir.name} (met the SLO)"
        if capped or limit == "none":
            why = "capped by the load generator" if capped else "nothing saturated"
            source += f", a lower bound: {why}"
    else:
        total_rps = _number(totals.get("rps"))
        if total_rps is None or total_rps <= 0:
            raise CapacityInputError(f"{path}: neither capacity_rps nor a positive totals.rps")
        rps, source = total_rps, f"totals.rps {total_rps:,.1f} from {run_dir.name}"
        notes.append(
            "no SLO-meeting capacity was found in this run (no capacity_rps): using its "
            "average throughput, which may be below what one instance can carry"
        )
    per_core, demand_source = _per_core(facts, run_dir, limit)
    if per_core is None and (capped or limit == "none"):
        notes.append(
            f"{run_dir.name} measured no service demand (process_cpu_seconds_total): its "
            f"{rps:,.1f} req/s is a lower bound of what one instance carries"
        )
    hdr = totals.get("hdr") if isinstance(totals.get("hdr"), dict) else {}
    p95 = _number(hdr.get("p95_ms")) if hdr else None
    return RunFacts(
        per_instance_rps=rps,
        source=source,
        per_core_rps=per_core,
        demand_source=demand_source,
        p95_ms=p95 if p95 is not None else _number(totals.get("p95_ms")),
        mix=_mix(summary.get("endpoints")),
        cache_hit_ratio=_cache_hit_ratio(summary.get("server")),
        replica_read_share=_server_share(summary.get("server"), "replica_read_share"),
        replica_query_ms=_replica_query_ms(summary.get("server")),
        notes=notes + _replica_note(summary.get("server")),
    )


def _per_core(facts: dict[str, Any], run_dir: Path, limit: str) -> tuple[float | None, str]:
    """The run's per-core capacity (1 / D) and where it came from, when it may be scaled."""
    per_core = _number(facts.get("per_core_rps"))
    demand = _number(facts.get("service_cpu_s_per_request"))
    if per_core is None or per_core <= 0 or demand is None or limit not in CPU_BOUND_LIMITS:
        return None, ""
    where = facts.get("cpu_model")
    on = f" on {where}" if isinstance(where, str) and where else ""
    return per_core, (
        f"{per_core:,.1f} req/s per core = 1 / D, D = {demand * 1000:.3f} ms of service CPU "
        f"per request measured in {run_dir.name}{on} (first limit: {limit})"
    )


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _mix(endpoints: Any) -> TrafficMix | None:
    if not isinstance(endpoints, list):
        return None
    shares: dict[str, float] = {}
    for endpoint in endpoints:
        if isinstance(endpoint, dict) and isinstance(endpoint.get("name"), str):
            share = _number(endpoint.get("share"))
            if share is not None:
                shares[endpoint["name"]] = share
    try:
        return TrafficMix.from_endpoint_shares(shares) if shares else None
    except CapacityInputError:
        return None  # a run of other endpoints: plan with the seed's mix instead


def _cache_hit_ratio(server: Any) -> float | None:
    return _server_share(server, "cache_hit_ratio")


def _server_share(server: Any, key: str) -> float | None:
    if not isinstance(server, dict):
        return None
    ratio = _number(server.get(key))
    return ratio if ratio is not None and 0 <= ratio <= 1 else None


def _replica_query_ms(server: Any) -> float | None:
    value = _number(server.get("replica_query_ms")) if isinstance(server, dict) else None
    return value if value is not None and value > 0 else None


# Below this share of queries on replicas, the measured routing contradicts the plan's
# assumption that reads missing the cache go to replicas: say so next to the plan.
LOW_REPLICA_SHARE = 0.5


def _replica_note(server: Any) -> list[str]:
    """Where the run's database queries went, when it had replicas (summary `server`)."""
    if not isinstance(server, dict) or not isinstance(server.get("queries"), dict):
        return []
    queries = {str(k): _number(v) or 0.0 for k, v in server["queries"].items()}
    on_replicas = sum(n for pool, n in queries.items() if pool.startswith("replica"))
    total = sum(queries.values())
    if on_replicas == 0 and not any(pool.startswith("replica") for pool in queries):
        return []  # no replicas in this run
    share = on_replicas / total if total else 0.0
    read_share = _server_share(server, "replica_read_share")
    if read_share is not None:
        reads = f"replicas served {read_share:.0%} of the run's database reads"
        return [f"{reads}: the replica tier below carries that share of cache-missing reads"]
    if share >= LOW_REPLICA_SHARE:
        return [f"replicas served {share:.0%} of the run's database queries"]
    fallbacks = server.get("replica_fallbacks")
    pinned = _number(fallbacks.get("read_your_writes")) if isinstance(fallbacks, dict) else None
    why = f"; {pinned:,.0f} reads were pinned to the master by read-your-writes" if pinned else ""
    return [
        f"replicas served only {share:.0%} of the run's database queries{why}: the database "
        "tier below assumes cache-missing reads go to replicas, so size the master for them "
        "too, or relax read-your-writes"
    ]
