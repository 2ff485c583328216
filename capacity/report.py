"""A plan report: the right-sized plan beside the seed's, as one value with a JSON form."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from capacity.cost import CostTable
from capacity.plans import (
    InstanceOption,
    Plan,
    PlanRequest,
    instance_options,
    right_sized_plan,
    seed_plan_priced,
)
from capacity.pricing import PriceBook
from capacity.seed import Reconciliation, reconcile_seed, seed_cost_as_written


@dataclass(frozen=True, kw_only=True)
class PlanReport:
    request: PlanRequest
    prices_version: str
    right_sized: Plan
    seed_priced: Plan
    seed_as_written: CostTable
    reconciliation: list[Reconciliation]
    options: list[InstanceOption]
    notes: list[str]

    @property
    def cheapest(self) -> InstanceOption:
        return self.options[0]


def build_report(request: PlanRequest, book: PriceBook, *, notes: list[str]) -> PlanReport:
    return PlanReport(
        request=request,
        prices_version=book.prices_version,
        right_sized=right_sized_plan(request, book),
        seed_priced=seed_plan_priced(request, book),
        seed_as_written=seed_cost_as_written(),
        reconciliation=reconcile_seed(book, request.region),
        options=instance_options(request, book),
        notes=notes,
    )


def plan_dict(plan: Plan) -> dict[str, Any]:
    db, cache, growth = plan.database, plan.cache, plan.growth
    return {
        "instances": plan.instances,
        "instance_type": plan.instance_type,
        "sizing": plan.sizing,
        "cost": plan.cost.to_dict(),
        "line_items": [
            {
                "key": i.key,
                "resource": i.resource,
                "spec": i.spec,
                "monthly_usd": round(i.monthly_usd, 2),
                "arithmetic": i.arithmetic,
            }
            for i in plan.cost.items
        ],
        "database": {
            "master_class": db.master_class,
            "multi_az_master": db.multi_az_master,
            "replica_class": db.replica_class,
            "replicas": db.replicas,
            "db_read_rps": round(db.db_read_rps, 2),
            "replica_read_rps": round(db.replica_read_rps, 2),
            "replica_capacity_rps": round(db.replica_capacity_rps, 2),
            "replica_capacity_basis": db.replica_capacity_basis,
            "replicas_needed": db.replicas_needed,
            "write_rps": round(db.write_rps, 2),
            "connections": [
                {
                    "node": n.node,
                    "instance_class": n.instance_class,
                    "connections": n.connections,
                    "max_connections": n.max_connections,
                    "busy_connections": round(n.busy_connections, 1),
                    "warning": n.warning,
                }
                for n in db.connections
            ],
        },
        "cache": {
            "node_type": cache.node_type,
            "profile_keys": cache.profile_keys,
            "list_keys": cache.list_keys,
            "memory_bytes": round(cache.memory_bytes),
            "usable_bytes": round(cache.usable_bytes),
            "share_of_usable": round(cache.share_of_usable, 4),
        },
        "growth": {
            "creates_per_s": growth.creates_per_s,
            "rows_per_day": growth.rows_per_day,
            "row_bytes": growth.row_bytes,
            "row_bytes_source": growth.row_bytes_source,
            "bytes_per_month": round(growth.bytes_per_month),
            "threshold_rows": growth.threshold_rows,
            "days_to_threshold": growth.days_to_threshold,
            "months_to_threshold": growth.months_to_threshold,
            "summary": growth.sentence(),
        },
        "warnings": plan.warnings,
        "notes": plan.notes,
    }


def report_dict(report: PlanReport) -> dict[str, Any]:
    """`loadcap plan --json`: the right-sized plan at the top level, the seed's beside it."""
    request, workload = report.request, report.request.workload
    cheapest, per_instance = report.cheapest, request.per_instance_rps
    return {
        **plan_dict(report.right_sized),
        "target_rps": workload.target_rps,
        "mix": workload.mix.shares(),
        "cache_hit_ratio": workload.cache_hit_ratio,
        "per_instance_rps": per_instance.value if per_instance else None,
        "per_instance_source": per_instance.source if per_instance else "given",
        "usl": None if request.fit is None else request.fit.to_dict(),
        "p95_ms": request.p95_ms,
        "utilization": request.utilization,
        "redundancy": request.redundancy,
        "region": request.region,
        "prices_version": report.prices_version,
        "cheapest_instance_type": {
            "instance_type": cheapest.instance_type,
            "instances": cheapest.instances,
            "monthly_usd": round(cheapest.monthly_usd, 2),
        },
        "instance_options": [
            {
                "instance_type": o.instance_type,
                "instances": o.instances,
                "monthly_usd": round(o.monthly_usd, 2),
                "note": o.note,
            }
            for o in report.options
        ],
        "seed": {
            "as_written": report.seed_as_written.to_dict(),
            "priced": plan_dict(report.seed_priced),
            "reconciliation": {r.key: r.explanation for r in report.reconciliation},
        },
        "report_notes": report.notes,
    }
