"""`loadcap plan` end to end: price book, report, optional autoscaling day and chart, then
one output format. The CLI only parses flags and prints what this returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import msgspec
from rich.console import Group, RenderableType
from rich.text import Text

from capacity.app_tier import per_instance_rps
from capacity.autoscale import (
    DaySimulation,
    ScalingPolicy,
    profile_from_shape,
    read_profile,
    simulate_day,
)
from capacity.errors import CapacityInputError
from capacity.planner import PlanOptions, make_plan_report
from capacity.pricing import PriceBook, load_price_book
from capacity.render import to_csv, to_markdown, to_rich
from capacity.report import PlanReport, plan_document
from capacity.seed import SEED_PER_INSTANCE_RPS
from rundir.plan_json import PlanAutoscale, plan_text

Format = Literal["terminal", "json", "md", "csv"]


@dataclass(frozen=True, kw_only=True)
class PlanOutput:
    fmt: Format = "terminal"
    prices: Path | None = None
    autoscale_csv: Path | None = None
    autoscale_peak: float | None = None
    chart: Path | None = None


@dataclass(frozen=True, kw_only=True)
class AutoscaleSummary:
    source: str
    day: DaySimulation
    policy: ScalingPolicy
    instance_type: str
    hourly_usd: float

    def to_dict(self) -> dict[str, Any]:
        day = self.day
        return {
            "profile": self.source,
            "per_instance_rps": self.policy.per_instance_rps,
            "utilization": self.policy.utilization,
            "scale_out_cooldown_s": self.policy.scale_out_cooldown_s,
            "scale_in_cooldown_s": self.policy.scale_in_cooldown_s,
            "instance_hours_per_day": round(day.instance_hours, 2),
            "min_instances": min(day.instances),
            "max_instances": max(day.instances),
            "monthly_usd": round(day.monthly_usd(self.hourly_usd), 2),
            "fixed_instances": day.fixed_instances,
            "fixed_instance_hours_per_day": day.fixed_instance_hours,
            "fixed_monthly_usd": round(day.fixed_monthly_usd(self.hourly_usd), 2),
            "overloaded_minutes": day.overloaded_minutes,
        }

    def markdown(self) -> str:
        d, day = self.to_dict(), self.day
        saving = 1 - day.instance_hours / day.fixed_instance_hours
        return (
            "\n### Autoscaling over a day\n\n"
            f"- Profile: {self.source}; target tracking at {self.policy.utilization:.0%} with "
            f"{self.policy.scale_out_cooldown_s:g} s / {self.policy.scale_in_cooldown_s:g} s "
            "scale-out / scale-in cooldowns.\n"
            f"- Autoscaled: {d['min_instances']}-{d['max_instances']} x {self.instance_type}, "
            f"{d['instance_hours_per_day']:,.1f} instance-hours/day, "
            f"${d['monthly_usd']:,.2f}/month.\n"
            f"- Fixed for peak: {day.fixed_instances} x {self.instance_type}, "
            f"{day.fixed_instance_hours:,.0f} instance-hours/day, "
            f"${d['fixed_monthly_usd']:,.2f}/month; autoscaling saves {saving:.0%}.\n"
            f"- Minutes above full capacity while scaling out: {day.overloaded_minutes}.\n"
        )


def autoscale_summary(
    report: PlanReport, book: PriceBook, output: PlanOutput
) -> AutoscaleSummary | None:
    if output.autoscale_csv is not None and output.autoscale_peak is not None:
        raise CapacityInputError("give --autoscale PROFILE.csv or --autoscale-peak, not both")
    if output.autoscale_csv is not None:
        profile, source = read_profile(output.autoscale_csv), str(output.autoscale_csv)
    elif output.autoscale_peak is not None:
        profile = profile_from_shape(output.autoscale_peak)
        source = f"typical web day peaking at {output.autoscale_peak:,.0f} req/s"
    else:
        return None
    request = report.request
    policy = ScalingPolicy(
        per_instance_rps=per_instance_rps(request, request.instance_type, book).value,
        utilization=request.utilization,
        redundancy=request.redundancy,
    )
    return AutoscaleSummary(
        source=source,
        day=simulate_day(profile, policy),
        policy=policy,
        instance_type=request.instance_type,
        hourly_usd=book.ec2(request.region, request.instance_type).hourly_usd,
    )


def write_plan_chart(
    report: PlanReport, book: PriceBook, path: Path, autoscale: AutoscaleSummary | None
) -> Path:
    # matplotlib is imported only when a chart is asked for: a plain plan needs none of it.
    from capacity.charts import (
        LinearSeries,
        new_figure,
        plot_autoscale_day,
        plot_cost_vs_load,
        plot_instances_vs_load,
        save_figure,
        sweep_loads,
    )

    request = report.request
    linear = {
        f"seed: {SEED_PER_INSTANCE_RPS:g} req/s per instance": LinearSeries(
            SEED_PER_INSTANCE_RPS, 1.0, 0
        )
    }
    if request.per_instance_rps is not None:
        label = f"linear: {request.per_instance_rps.value:,.0f} req/s measured"
        linear[label] = LinearSeries(
            request.per_instance_rps.value, request.utilization, request.redundancy
        )
    sweep = sweep_loads(
        linear=linear,
        fit=request.fit,
        utilization=request.utilization,
        redundancy=request.redundancy,
        hourly_usd=book.ec2(request.region, request.instance_type).hourly_usd,
        hours_per_month=book.hours_per_month,
    )
    figure = new_figure(3 if autoscale else 2)
    axes = figure.subplots(1, 3 if autoscale else 2)
    target = request.workload.target_rps
    plot_instances_vs_load(axes[0], sweep, target)
    plot_cost_vs_load(axes[1], sweep, request.instance_type, target)
    if autoscale is not None:
        plot_autoscale_day(axes[2], autoscale.day, autoscale.policy.per_instance_rps)
    return save_figure(figure, path)


def render_plan(options: PlanOptions, output: PlanOutput) -> str | RenderableType:
    book = load_price_book(output.prices)
    report = make_plan_report(options, book)
    day = autoscale_summary(report, book, output)
    if output.chart is not None:
        write_plan_chart(report, book, output.chart, day)
    if output.fmt == "json":
        document = msgspec.structs.replace(
            plan_document(report),
            autoscale=None if day is None else msgspec.convert(day.to_dict(), PlanAutoscale),
            chart=None if output.chart is None else str(output.chart),
        )
        return plan_text(document)
    if output.fmt == "csv":
        return to_csv(report)
    wrote = "" if output.chart is None else f"\nwrote {output.chart}\n"
    if output.fmt == "md":
        return to_markdown(report) + ("" if day is None else day.markdown()) + wrote
    parts: list[RenderableType] = [to_rich(report)]
    if day is not None:
        parts.append(Text(day.markdown()))
    if wrote:
        parts.append(Text(wrote.strip()))
    return Group(*parts)
