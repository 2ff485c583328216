"""`loadcap demo`, the main job: measure the reference service, report, and plan.

Start and seed the reference service (embedded default, or the given databases), run a
bounded step-load sweep of the 80/10/5/5 mix, hand the run directory to the reports package
(report.html, report.md, summary.json) and the measured capacity to the capacity package (the
plan for the target load next to the seed's plan, also written as plan.md and plan.json).
Ctrl-C during the load stops Locust cleanly; what was measured until then is still reported.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from loadtests.errors import LoadTestError
from loadtests.progress import Progress as RunProgress
from pipeline.cpu_split import AUTO, pinned, split_cpus
from pipeline.runner import RunSettings, run_load_test
from target_service.settings import Settings

STEPS = 8  # the sweep is cut into this many steps, each `step_users` users higher
MIN_STEP_S = 5.0


@dataclass(frozen=True, kw_only=True)
class DemoSettings:
    out_dir: Path
    duration_s: float = 120.0
    step_users: int = 10
    profiles: int = 10_000
    target_rps: float = 1000.0
    slo_p95_ms: float = 100.0
    instance_type: str = "t3.medium"
    service: Settings | None = None  # None: embedded default (temporary SQLite, no rate limit)
    cookies: bool = True  # False: stateless API clients (no read-your-writes stickiness)

    def __post_init__(self) -> None:
        if self.duration_s < MIN_STEP_S * 2:
            raise LoadTestError(f"--duration must be at least {MIN_STEP_S * 2:.0f}s")
        if self.step_users < 1 or self.profiles < 1 or self.target_rps <= 0:
            raise LoadTestError("--step-users, --profiles and --target-rps must be positive")
        if self.slo_p95_ms <= 0:
            raise LoadTestError("--slo-p95-ms must be positive")

    @property
    def step_seconds(self) -> float:
        return max(MIN_STEP_S, self.duration_s / STEPS)


@dataclass(frozen=True)
class DemoResult:
    settings: DemoSettings
    summary: dict[str, Any]
    plan: dict[str, Any]
    files: list[Path]
    interrupted: bool
    load_exit_code: int


def run_demo(settings: DemoSettings, console: Console) -> DemoResult:
    # Imported late: pandas/matplotlib/scipy are slow to import and only needed at the end.
    settings.out_dir.mkdir(parents=True, exist_ok=True)
    exit_code, interrupted = _measure(settings, console)
    if not (settings.out_dir / "locust_stats.csv").exists():
        raise LoadTestError(f"no measurements in {settings.out_dir}: see its locust.log")
    with console.status("writing the report and the plan"):
        from reports.report import write_report
        from reports.slo import Slo

        files = write_report(settings.out_dir, slo=Slo(p95_ms=settings.slo_p95_ms))
        plan, plan_files = _plan(settings)
    summary = json.loads(files.summary.read_text(encoding="utf-8"))
    return DemoResult(
        settings=settings,
        summary=summary,
        plan=plan,
        files=[files.html, files.markdown, files.summary, *plan_files],
        interrupted=interrupted,
        load_exit_code=exit_code,
    )


def _measure(settings: DemoSettings, console: Console) -> tuple[int, bool]:
    from target_service.process import ServiceProcess, ServiceStartError

    # The service on a CPU of its own, Locust on the others (one process per CPU), so the run
    # measures the service rather than two programs sharing cores.
    split = split_cpus()
    service = ServiceProcess(
        settings.service, profiles=settings.profiles, command_prefix=pinned([], split.service)
    )
    with console.status(f"starting the reference service, seeding {settings.profiles:,} profiles"):
        try:
            service.start()
        except ServiceStartError as exc:
            lines = [line for line in str(exc).splitlines() if line.strip()]
            raise LoadTestError(f"the reference service did not start: {lines[-1]}") from None
    run = RunSettings(
        out_dir=settings.out_dir,
        host=service.base_url,
        users=settings.step_users,
        spawn_rate=float(settings.step_users),
        duration_s=settings.duration_s,
        shape="step",
        step_seconds=settings.step_seconds,
        id_count=settings.profiles,
        cookies=settings.cookies,
        processes=AUTO,
        cpu_split=split,
    )
    interrupted = False
    try:
        with _progress_bar(console, settings) as update:
            try:
                outcome = run_load_test(run, on_progress=update)
            except KeyboardInterrupt:  # arrived between Locust polls: keep what was written
                interrupted = True
                return 130, interrupted
    finally:
        service.stop()
    interrupted = (outcome.record.elapsed_s or settings.duration_s) < settings.duration_s - 2
    return outcome.exit_code, interrupted


class _progress_bar:
    def __init__(self, console: Console, settings: DemoSettings) -> None:
        self.settings = settings
        self.progress = Progress(
            TextColumn("step load"),
            BarColumn(),
            TextColumn("{task.fields[line]}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self.task = self.progress.add_task("load", total=settings.duration_s, line="starting")

    def __enter__(self) -> Any:
        self.progress.start()

        def update(p: RunProgress) -> None:
            users = min(
                self.settings.step_users * (int(p.elapsed_s // self.settings.step_seconds) + 1),
                self.settings.step_users * STEPS,
            )
            line = f"~{users} users  {p.line().strip()}"
            self.progress.update(self.task, completed=p.elapsed_s, line=line)

        return update

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()


def _plan(settings: DemoSettings) -> tuple[dict[str, Any], list[Path]]:
    from capacity.planner import PlanOptions, make_plan_report
    from capacity.pricing import load_price_book
    from capacity.render import to_markdown
    from capacity.report import report_dict

    options = PlanOptions(
        run_dir=settings.out_dir,
        target_rps=settings.target_rps,
        instance_type=settings.instance_type,
    )
    report = make_plan_report(options, load_price_book())
    data = report_dict(report)
    md_path = settings.out_dir / "plan.md"
    json_path = settings.out_dir / "plan.json"
    md_path.write_text(to_markdown(report), encoding="utf-8")
    json_path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return data, [md_path, json_path]


def show_demo(result: DemoResult, console: Console) -> None:
    """The rich summary: measured capacity, latency, the two plans, where the files are."""
    summary, plan, s = result.summary, result.plan, result.settings
    totals = summary["totals"]
    hdr = totals.get("hdr") or {}
    measured = Table.grid(padding=(0, 2))
    measured.add_row("requests", f"{totals['requests']:,} ({totals['failures']:,} failed)")
    measured.add_row("throughput", f"{totals['rps']:,.1f} req/s on average")
    for label, value in capacity_lines(summary, s.slo_p95_ms):
        measured.add_row(label, value)
    p95 = hdr.get("p95_ms", totals.get("p95_ms"))
    p99 = hdr.get("p99_ms", totals.get("p99_ms"))
    measured.add_row("latency", f"p95 {_ms(p95)}, p99 {_ms(p99)} over the whole sweep")
    limit = (summary.get("saturation") or {}).get("limit") or (summary.get("capacity") or {}).get(
        "sentence"
    )
    if limit:
        measured.add_row("verdict", str(limit))
    console.print(Panel(measured, title="measured", expand=False))
    console.print(_plans_table(plan, s.target_rps))
    for warning in plan.get("warnings") or []:
        console.print(f"[yellow]![/] {warning}", highlight=False)
    if result.interrupted:
        console.print("[yellow]interrupted:[/] the report covers what was measured until then")
    console.print("files: " + ", ".join(str(p) for p in result.files), highlight=False)


def capacity_lines(summary: dict[str, Any], slo_p95_ms: float) -> list[tuple[str, str]]:
    """What the run measured and what it is the capacity *of*, from summary.json."""
    facts = summary.get("capacity") or {}
    observed = summary.get("capacity_rps") or facts.get("observed_rps")
    slo = f"p95 <= {slo_p95_ms:g} ms, errors <= 1%"
    capped = bool(facts.get("generator_saturated"))
    if observed:
        what = (
            "capped by the load generator: a lower bound"
            if capped
            else "what the clients saw, one service worker"
        )
        lines = [("observed at the SLO", f"{observed:,.1f} req/s ({slo}; {what})")]
    else:
        lines = [("observed at the SLO", "no step met the SLO")]
    demand, per_core = facts.get("service_cpu_s_per_request"), facts.get("per_core_rps")
    if demand and per_core:
        lines.append(
            ("service demand", f"{demand * 1000:.3f} ms of CPU per request (from its own CPU)")
        )
        basis = facts.get("basis")
        how = (
            "Utilization Law, 1 / D: the capacity"
            if basis == "utilization_law"
            else "1 / D; the observed figure is the capacity at this configuration"
        )
        lines.append(("capacity per core", f"{per_core:,.1f} req/s ({how})"))
    else:
        lines.append(("service demand", "not measured (the target exports no process CPU)"))
    limit = str(facts.get("first_limit") or "none").replace("_", " ")
    lines.append(("first limit", limit + (" (not the service)" if capped else "")))
    return lines


def _plans_table(plan: dict[str, Any], target_rps: float) -> Table:
    table = Table(title=f"plan for {target_rps:,.0f} req/s (USD per month)", title_justify="left")
    for column in ("", "instances", "type", "app tier", "total"):
        table.add_column(column, justify="left" if column in ("", "type") else "right")
    seed = plan["seed"]
    written, priced = seed["as_written"], seed["priced"]
    table.add_row("seed plan as written", "100", "t3.medium", _usd(written["ec2"]),
                  _usd(written["monthly_total_usd"]))  # fmt: skip
    table.add_row(
        "seed plan, priced",
        str(priced["instances"]),
        str(priced["instance_type"]),
        _usd(_app_tier(priced["cost"])),
        _usd(priced["cost"]["monthly_total_usd"]),
    )
    app_tier = _app_tier(plan["cost"])
    total = float(plan["cost"]["monthly_total_usd"])
    table.add_row(
        "right-sized (measured)",
        str(plan["instances"]),
        str(plan["instance_type"]),
        _usd(app_tier),
        _usd(total),
    )
    cheapest = plan.get("cheapest_instance_type")
    if isinstance(cheapest, dict) and cheapest.get("instance_type") != plan["instance_type"]:
        cheapest_app = float(cheapest["monthly_usd"])
        table.add_row(
            "right-sized, cheapest type",
            str(cheapest["instances"]),
            str(cheapest["instance_type"]),
            _usd(cheapest_app),
            _usd(total - app_tier + cheapest_app),
        )
    return table


def _app_tier(cost: dict[str, Any]) -> float:
    """EC2 plus, for burstable types, the CPU credits a sustained load costs."""
    return float(cost.get("ec2", 0.0)) + float(cost.get("ec2_cpu_credits", 0.0))


def _ms(value: Any) -> str:
    return "-" if value is None else f"{float(value):,.1f} ms"


def _usd(value: Any) -> str:
    return "-" if value is None else f"${float(value):,.0f}"
