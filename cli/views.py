"""What the commands print: rich renderables and live displays built from what the engines
return. The engines take callbacks for progress and never print (uvicorn's pattern)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.live import Live
from rich.panel import Panel
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from loadtests.progress import Progress as RunProgress
from pipeline.demo import DemoProgress, DemoResult
from pipeline.run import RunReport
from pipeline.runner import RunSettings
from rundir.scaleout_json import Interval, ScaleoutDocument, ScaleoutPoint, ScaleoutRepeat
from rundir.summary_json import Summary, SummaryCapacity

if TYPE_CHECKING:
    from capacity.cost import CostTable
    from capacity.report import PlanReport

# --- loadcap run -----------------------------------------------------------------------------


def show_run_start(console: Console, settings: RunSettings, duration: str) -> None:
    target = settings.host or "the embedded service"
    if settings.service_cpu_cap is not None:
        target += f" capped at {settings.service_cpu_cap:g} cores"
    console.print(f"loadcap run: {target}, {duration}, results in {settings.out_dir}")
    if settings.web:
        console.print(f"Locust web UI: http://127.0.0.1:{settings.web_port} (Ctrl+C to finish)")
    workers = settings.workers
    if workers is not None:
        console.print(
            f"waiting up to {workers.wait_s} s for {workers.count} Locust worker(s) on "
            f"{workers.bind_host}:{workers.bind_port}; start each with: "
            f"{workers.worker_command()}",
            highlight=False,
            soft_wrap=True,
        )


@contextmanager
def live_run_line(console: Console) -> Iterator[Callable[[RunProgress], None]]:
    """The live line is "now" (Locust's current rate and a 10 s window's p95); the whole-run
    figures, the same the report shows, are printed after the run (show_run)."""
    with Live(Text("starting Locust..."), console=console, transient=True) as live:

        def show(progress: RunProgress) -> None:
            live.update(Text(progress.line()))

        yield show


def show_run(report: RunReport, console: Console, err_console: Console) -> None:
    if report.summary_error:
        err_console.print(
            f"[yellow]warning:[/] no summary.json: {report.summary_error}", highlight=False
        )
    totals = report.whole_run_line()
    if totals:
        console.print(totals, highlight=False)
    if report.verdict:
        console.print(f"verdict: {report.verdict}", highlight=False, soft_wrap=True)
    check = (
        report.summary.capacity.model_check if report.summary and report.summary.capacity else None
    )
    if check is not None:
        console.print(check.sentence or "", highlight=False, soft_wrap=True)
    outcome = report.outcome
    if outcome.exit_code == 0:
        console.print(outcome.message, highlight=False, soft_wrap=True)
    else:
        err_console.print(
            f"[bold red]run failed:[/] {outcome.message}", highlight=False, soft_wrap=True
        )


# --- loadcap demo ----------------------------------------------------------------------------


class DemoDisplay:
    """The demo's phases (a spinner line each) and its load's progress bar."""

    def __init__(self, console: Console) -> None:
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[line]}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self._phase: Any = None
        self._load: Any = None

    def __enter__(self) -> DemoDisplay:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def phase(self, text: str) -> None:
        self._end_phase()
        self._phase = self.progress.add_task(text, total=None, line="")

    def load(self, p: DemoProgress) -> None:
        self._end_phase()
        if self._load is None:
            self._load = self.progress.add_task("step load", total=p.duration_s, line="")
        line = f"~{p.users} users  {p.line}"
        self.progress.update(self._load, completed=p.elapsed_s, line=line)

    def _end_phase(self) -> None:
        if self._phase is not None:
            self.progress.remove_task(self._phase)
            self._phase = None


def show_demo(result: DemoResult, console: Console) -> None:
    """The rich summary: measured capacity, latency, the two plans, where the files are."""
    summary, plan, s = result.summary, result.plan, result.settings
    totals = summary.totals
    exact = totals.hdr or None  # hdr.json's percentiles when the run wrote them
    measured = Table.grid(padding=(0, 2))
    measured.add_row("requests", f"{totals.requests or 0:,} ({totals.failures or 0:,} failed)")
    measured.add_row("throughput", f"{totals.rps or 0.0:,.1f} req/s on average")
    for label, value in capacity_lines(summary, s.slo_p95_ms):
        measured.add_row(label, value)
    p95 = exact.p95_ms if exact else totals.p95_ms
    p99 = exact.p99_ms if exact else totals.p99_ms
    measured.add_row("latency", f"p95 {_ms(p95)}, p99 {_ms(p99)} over the whole sweep")
    limit = (summary.saturation.limit if summary.saturation else None) or (
        summary.capacity.sentence if summary.capacity else None
    )
    if limit:
        measured.add_row("verdict", limit)
    check = summary.capacity.model_check if summary.capacity else None
    if check is not None:
        measured.add_row("model check", check.sentence or "")
    console.print(Panel(measured, title="measured", expand=False))
    console.print(_plans_table(plan, s.target_rps))
    for line in _latency_and_availability(plan):
        console.print(line, highlight=False)
    for warning in plan.right_sized.warnings:
        console.print(f"[yellow]![/] {warning}", highlight=False)
    if result.interrupted:
        console.print("[yellow]interrupted:[/] the report covers what was measured until then")
    console.print("files: " + ", ".join(str(p) for p in result.files), highlight=False)


def capacity_lines(summary: Summary, slo_p95_ms: float) -> list[tuple[str, str]]:
    """What the run measured and what it is the capacity *of*, from summary.json."""
    facts = summary.capacity or SummaryCapacity()
    observed = summary.capacity_rps or facts.observed_rps
    slo = f"p95 <= {slo_p95_ms:g} ms, errors <= 1%"
    capped = bool(facts.generator_saturated)
    if observed:
        worker = "one service worker"
        cap = summary.run.service_cpu_cap if summary.run else None
        if cap is not None:
            worker += f" capped at {cap.cores:g} cores"
        what = (
            "capped by the load generator: a lower bound"
            if capped
            else f"what the clients saw, {worker}"
        )
        lines = [("observed at the SLO", f"{observed:,.1f} req/s ({slo}; {what})")]
    else:
        lines = [("observed at the SLO", "no step met the SLO")]
    demand, per_core = facts.service_cpu_s_per_request, facts.per_core_rps
    if demand and per_core:
        lines.append(
            ("service demand", f"{demand * 1000:.3f} ms of CPU per request (from its own CPU)")
        )
        how = (
            "Utilization Law, 1 / D: the capacity"
            if facts.basis == "utilization_law"
            else "1 / D; the observed figure is the capacity at this configuration"
        )
        lines.append(("capacity per core", f"{per_core:,.1f} req/s ({how})"))
    else:
        lines.append(("service demand", "not measured (the target exports no process CPU)"))
    limit = (facts.first_limit or "none").replace("_", " ")
    lines.append(("first limit", limit + (" (not the service)" if capped else "")))
    return lines


def _plans_table(report: PlanReport, target_rps: float) -> Table:
    table = Table(title=f"plan for {target_rps:,.0f} req/s (USD per month)", title_justify="left")
    for column in ("", "instances", "type", "app tier", "total"):
        table.add_column(column, justify="left" if column in ("", "type") else "right")
    written = report.seed_as_written
    table.add_row("seed plan as written", "100", "t3.medium", _usd(written.by_key()["ec2"]),
                  _usd(written.monthly_total_usd))  # fmt: skip
    for label, plan in (("seed plan, priced", report.seed_priced),
                        ("right-sized (measured)", report.right_sized)):  # fmt: skip
        table.add_row(
            label,
            str(plan.instances),
            plan.instance_type,
            _usd(_app_tier(plan.cost)),
            _usd(plan.cost.monthly_total_usd),
        )
    plan, cheapest = report.right_sized, report.cheapest
    if cheapest.instance_type != plan.instance_type:
        app_tier = _app_tier(plan.cost)
        table.add_row(
            "right-sized, cheapest type",
            str(cheapest.instances),
            cheapest.instance_type,
            _usd(cheapest.monthly_usd),
            _usd(plan.cost.monthly_total_usd - app_tier + cheapest.monthly_usd),
        )
    return table


def _latency_and_availability(report: PlanReport) -> list[str]:
    """The right-sized and the seed's fleets by the same queueing model and SLAs."""
    lines = []
    slo, seed = report.right_sized.slo, report.seed_latency
    if slo is not None and seed is not None:
        lines.append(
            f"predicted p95 (M/M/c, {slo.objective.p95_ms.source}: "
            f"{slo.objective.p95_ms.value:g} ms): right-sized {slo.predicted_p95_ms:,.1f} ms "
            f"at {slo.utilization:.0%} CPU (the 70% rule: {slo.rule_of_thumb_instances} "
            f"instances); seed {seed.predicted_p95_ms:,.1f} ms"
        )
    right, seed_sla = report.availability, report.seed_availability
    lines.append(
        f"availability from published SLAs: right-sized {right.availability:.3%} "
        f"({right.downtime_minutes_per_month:,.0f} min/month, {right.dominant.tier} dominates); "
        f"seed as written {seed_sla.availability:.3%} "
        f"({seed_sla.downtime_minutes_per_month:,.0f} min/month) vs the 99.9% it asks for"
    )
    return lines


def _app_tier(cost: CostTable) -> float:
    """EC2 plus, for burstable types, the CPU credits a sustained load costs."""
    items = cost.by_key()
    return items.get("ec2", 0.0) + items.get("ec2_cpu_credits", 0.0)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f} ms"


def _usd(value: float | None) -> str:
    return "-" if value is None else f"${value:,.0f}"


# --- loadcap scaleout ------------------------------------------------------------------------


def show_scaleout_repeat(repeat: ScaleoutRepeat, console: Console) -> None:
    """One measured point as it finishes: its throughput and what limited it."""
    p95 = _ms(repeat.p95_ms)
    limit = (repeat.first_limit or "none").replace("_", " ")
    console.print(
        f"  N={repeat.instances:<3} {repeat.throughput_rps:8.1f} req/s  p95 {p95:>7}  "
        f"{repeat.users} users  first limit: {limit} ({repeat.limit_reason})",
        highlight=False,
        soft_wrap=True,
    )


def show_scaleout(document: ScaleoutDocument, console: Console) -> None:
    """The points (median, spread, efficiency, verdict), the fit with its intervals, the
    bottleneck tier and the seed line."""
    table = Table(title="throughput of N capped instances behind nginx (the fleet's own count)")
    columns = (
        "N",
        "X(N) req/s",
        "spread",
        "C(N)/N",
        "instances CPU ms/req",
        "L1 hits",
        "first limit",
    )
    for column in (*columns, "fitted"):
        table.add_column(column, justify="right" if column != "first limit" else "left")
    for point in document.points:
        spread = point.spread
        shown = f"{spread.min_rps:,.0f}-{spread.max_rps:,.0f} ({spread.repeats})" if spread else "-"
        efficiency = "-" if point.efficiency is None else f"{point.efficiency:.2f}"
        if point.superlinear:
            efficiency += " superlinear"
        fitted = "yes" if point.fitted else "no (below)"
        limit = (point.first_limit or "none").replace("_", " ")
        demand, l1 = _instances_work(point)
        table.add_row(
            str(point.instances), f"{point.throughput_rps:,.0f}", shown, efficiency, demand, l1,
            limit, fitted,
        )  # fmt: skip
    console.print(table)
    for point in document.points:
        if not point.fitted:
            console.print(f"N={point.instances} not fitted: {point.reason}", highlight=False)
        if point.superlinear and point.superlinear_cause:
            console.print(
                f"N={point.instances} superlinear: {point.superlinear_cause}", highlight=False
            )
    for line in _fit_lines(document):
        console.print(line, highlight=False, soft_wrap=True)


def _instances_work(point: ScaleoutPoint) -> tuple[str, str]:
    """The instances' CPU per request and the L1's share of cache lookups ("-" unmeasured)."""
    fleet = next((t for t in point.tiers if t.name == "instances"), None)
    demand = fleet.cpu_s_per_request if fleet is not None else None
    ratio = point.evidence.l1_hit_ratio if point.evidence is not None else None
    return (
        "-" if demand is None else f"{demand * 1000:.2f}",
        "-" if ratio is None else f"{ratio:.0%}",
    )


def _fit_lines(document: ScaleoutDocument) -> list[str]:
    lines = []
    fit = document.fit
    if fit is None:
        lines.append(document.fit_message or "no USL fit: too few fitted points")
    else:
        lines.append(
            f"USL fit on instance count ({fit.points} measurements, {fit.confidence:.0%} "
            f"intervals): sigma {_with_interval(fit.sigma, fit.sigma_interval)}, "
            f"kappa {_with_interval(fit.kappa, fit.kappa_interval)}, "
            f"lambda {_with_interval(fit.lambda_, fit.lambda_interval, '.1f')} req/s"
        )
        peak = (
            f"N* = {fit.peak_n:,.1f} instances, X(N*) = {fit.peak_throughput:,.0f} req/s"
            if fit.peak_n is not None and fit.peak_throughput is not None
            else "no peak (kappa = 0: the curve never turns down)"
        )
        lines.append(peak)
        lines += [f"warning: {text}" for text in fit.warnings]
    if document.bottleneck is not None:
        lines.append(f"bottleneck: {document.bottleneck.sentence}")
    if document.bend is not None:
        lines.append(f"why it bends: {document.bend.sentence}")
    if document.seed_line is not None:
        lines.append(f"seed line: {document.seed_line.sentence}")
    lines += [f"warning: {text}" for text in document.warnings]
    return lines


def _with_interval(value: float, interval: Interval | None, spec: str = ".4f") -> str:
    if interval is None:
        return f"{value:{spec}}"
    return f"{value:{spec}} [{interval.low:{spec}}, {interval.high:{spec}}]"
