"""Plan reports as Markdown, CSV and a terminal (rich) table; the JSON form is in report.py."""

from __future__ import annotations

import csv
import io

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from capacity.cost import CostTable
from capacity.report import PlanReport

COLUMNS = ("seed as written", "seed priced", "right-sized")
LINE_ORDER = (
    "ec2",
    "ec2_cpu_credits",
    "rds_master",
    "rds_replicas",
    "elasticache",
    "alb",
    "cloudwatch",
)


def _usd(value: float | None) -> str:
    return "-" if value is None else f"${value:,.2f}"


def cost_rows(report: PlanReport) -> list[list[str]]:
    """One row per line item across the three cost tables, then instances and the total."""
    tables: list[CostTable] = [
        report.seed_as_written,
        report.seed_priced.cost,
        report.right_sized.cost,
    ]
    keys: list[str] = []
    names: dict[str, str] = {}
    for table in tables:
        for item in table.items:
            if item.key not in keys:
                keys.append(item.key)
                names[item.key] = item.resource
    keys.sort(key=lambda k: LINE_ORDER.index(k) if k in LINE_ORDER else len(LINE_ORDER))
    rows = []
    for key in keys:
        row = [names[key]]
        for table in tables:
            found = [i for i in table.items if i.key == key]
            row.append(f"{_usd(found[0].monthly_usd)} ({found[0].spec})" if found else "-")
        rows.append(row)
    rows.append(
        [
            "Instances",
            str(100),
            str(report.seed_priced.instances),
            str(report.right_sized.instances),
        ]
    )
    rows.append(["**Total / month**", *(f"**{_usd(t.monthly_total_usd)}**" for t in tables)])
    return rows


def _summary_lines(report: PlanReport) -> list[str]:
    req, right = report.request, report.right_sized
    w = req.workload
    lines = [
        f"Target {w.target_rps:,.0f} req/s, mix {w.mix.label()}, cache hit ratio "
        f"{w.cache_hit_ratio:.0%}, utilization {req.utilization:.0%}, redundancy "
        f"{req.redundancy}, {req.region}, prices {report.prices_version}.",
        f"Right-sized: {right.instances} x {right.instance_type}; {right.sizing}.",
    ]
    if right.slo is not None:
        slo = right.slo
        lines.append(
            f"Sized for latency (M/M/c): {slo.instances} x {right.instance_type}, predicted p95 "
            f"{slo.predicted_p95_ms:,.1f} ms at {w.target_rps:,.0f} req/s (objective "
            f"{slo.objective.p95_ms.value:g} ms, {slo.objective.p95_ms.source}); the "
            f"{req.utilization:.0%} rule gives {slo.rule_of_thumb_instances}."
        )
    if report.zones is not None:
        lines.append(f"Zones: {report.zones.sentence()}.")
    lines.append(f"Availability: {report.availability.sentence()}.")
    if report.regions is not None:
        lines.append(f"Regions: {report.regions.sentence()}.")
    if report.ranges is not None:
        lines.append(f"Range of loads: {report.ranges.sentence()}.")
    lines += _seed_judged(report)
    if req.p95_ms is not None:
        # runs.py takes the run's totals: the p95 over the whole run, every load level in it.
        lines.append(f"Measured p95 over the whole run: {req.p95_ms:,.1f} ms.")
    cheapest = report.cheapest
    lines.append(
        f"Cheapest instance type for the target: {cheapest.instances} x "
        f"{cheapest.instance_type} at {_usd(cheapest.monthly_usd)}/month ({cheapest.note})."
    )
    return lines


def _seed_judged(report: PlanReport) -> list[str]:
    """The seed's plan re-judged by the same model and SLAs as the right-sized one."""
    seed = report.seed_availability
    lines = []
    if report.seed_latency is not None:
        target = report.request.workload.target_rps
        lines.append(f"Seed re-judged: {report.seed_latency.sentence(target)}.")
    lines.append(
        f"Seed re-judged: as written (one zone, no Multi-AZ named) its availability is "
        f"{seed.availability:.3%} = {seed.downtime_minutes_per_month:,.0f} min a month, "
        f"not the 99.9 % = 43.8 min it asks for; {seed.dominant.tier} dominates."
    )
    return lines


def _deployment(multi_az: bool) -> str:
    return "Multi-AZ" if multi_az else "Single-AZ"


def _tier_lines(report: PlanReport) -> list[str]:
    lines = []
    for plan in (report.seed_priced, report.right_sized):
        db = plan.database
        conns = "; ".join(
            f"{n.node} {n.connections:,} of ~{n.max_connections:,} max_connections "
            f"({n.connections / n.max_connections:.0%}), ~{n.busy_connections:,.0f} busy"
            for n in db.connections
        )
        lines.append(
            f"{plan.name}: master {db.master_class} ({_deployment(db.multi_az_master)}) "
            f"takes {db.write_rps:,.0f} writes/s; {db.replicas} x {db.replica_class} replicas take "
            f"{db.replica_read_rps:,.0f} of {db.db_read_rps:,.0f} cache-missing reads/s "
            f"({db.replica_capacity_rps:,.0f}/s each, {db.replica_capacity_basis}; "
            f"{db.replicas_needed} needed). Connections: {conns}."
        )
    cache = report.right_sized.cache
    lines.append(
        f"Redis: ~{cache.profile_keys:,} profile keys + ~{cache.list_keys:,} list pages = "
        f"{cache.memory_bytes / 2**20:,.0f} MiB, {cache.share_of_usable:.1%} of one "
        f"{cache.node_type}'s usable memory."
    )
    lines.append(f"Data growth: {report.right_sized.growth.sentence()}")
    return lines


def _warnings(report: PlanReport) -> list[str]:
    seen: list[str] = []
    for plan in (report.seed_priced, report.right_sized):
        for warning in plan.warnings:
            tagged = f"{plan.name}: {warning}"
            if tagged not in seen:
                seen.append(tagged)
    return seen


def to_markdown(report: PlanReport) -> str:
    out = ["## Capacity plan", ""]
    out += [f"- {line}" for line in _summary_lines(report)]
    out += ["", "| line item | " + " | ".join(COLUMNS) + " |", "|---|---:|---:|---:|"]
    out += ["| " + " | ".join(row) + " |" for row in cost_rows(report)]
    out += ["", "### The seed's figures, redone", ""]
    out += [f"- **{r.key}** (${r.seed_usd:,.0f}): {r.explanation}" for r in report.reconciliation]
    out += ["", "### Instance types for this target", "", "| type | instances | monthly | |"]
    out += ["|---|---:|---:|---|"]
    out += [
        f"| {o.instance_type} | {o.instances} | {_usd(o.monthly_usd)} | {o.note} |"
        for o in report.options
    ]
    out += ["", "### Database, cache, growth", ""]
    out += [f"- {line}" for line in _tier_lines(report)]
    out += ["", "### Availability from the published SLAs", ""]
    out += ["| tier | SLA | counted | source (recorded) | |", "|---|---:|---|---|---|"]
    out += [
        f"| {t.tier} | {t.sla.sla:.2%} | {'yes' if t.counted else 'no, soft'} | "
        f"{t.sla.source} ({t.sla.date}) | {t.note} |"
        for t in report.availability.tiers
    ]
    warnings = _warnings(report)
    if warnings:
        out += ["", "### Warnings", ""] + [f"- {w}" for w in warnings]
    notes = report.notes + report.right_sized.notes
    if notes:
        out += ["", "### Notes", ""] + [f"- {n}" for n in notes]
    return "\n".join(out) + "\n"


def to_csv(report: PlanReport) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["plan", "key", "resource", "spec", "monthly_usd", "arithmetic"])
    plans = [
        ("seed as written", report.seed_as_written),
        ("seed priced", report.seed_priced.cost),
        ("right-sized", report.right_sized.cost),
    ]
    for name, table in plans:
        for item in table.items:
            writer.writerow(
                [
                    name,
                    item.key,
                    item.resource,
                    item.spec,
                    f"{item.monthly_usd:.2f}",
                    item.arithmetic,
                ]
            )
        writer.writerow([name, "total", "Total", "", f"{table.monthly_total_usd:.2f}", ""])
    return buffer.getvalue()


def to_rich(report: PlanReport) -> RenderableType:
    table = Table(title="Monthly cost (USD, on-demand)", title_justify="left")
    table.add_column("line item")
    for column in COLUMNS:
        table.add_column(column, justify="right")
    for row in cost_rows(report):
        table.add_row(*(cell.replace("**", "") for cell in row))
    options = Table(title="Instance types for this target", title_justify="left")
    for column in ("type", "instances", "monthly", "note"):
        options.add_column(
            column, justify="right" if column in ("instances", "monthly") else "left"
        )
    for o in report.options:
        options.add_row(o.instance_type, str(o.instances), _usd(o.monthly_usd), o.note)
    parts: list[RenderableType] = [Text(line) for line in _summary_lines(report)]
    parts += [table]
    parts += [Text(f"- {r.key}: {r.explanation}") for r in report.reconciliation]
    parts += [options]
    parts += [Text(line) for line in _tier_lines(report)]
    parts += [Text(f"warning: {w}", style="yellow") for w in _warnings(report)]
    parts += [Text(f"note: {n}", style="dim") for n in report.notes + report.right_sized.notes]
    return Group(*parts)
