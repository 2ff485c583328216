"""`loadcap demo`, the main job: measure the reference service, report, and plan.

Start and seed the reference service (embedded default, or the given databases), run a
bounded step-load sweep of the 80/10/5/5 mix, hand the run directory to the reports package
(report.html, report.md, summary.json) and the measured capacity to the capacity package (the
plan for the target load next to the seed's plan, also written as plan.md and plan.json).
Ctrl-C during the load stops Locust cleanly; what was measured until then is still reported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from capacity.sizing import DEFAULT_TARGET_RPS
from loadtests.errors import LoadTestError
from loadtests.progress import Progress as RunProgress
from pipeline.cpu_split import AUTO, split_cpus
from pipeline.embedded import reference_service
from pipeline.runner import RunSettings, check_service_cpu_cap, run_load_test
from rundir.summary_json import Summary, read_summary
from target_service.settings import Settings

if TYPE_CHECKING:
    from capacity.report import PlanReport

STEPS = 8  # the sweep is cut into this many steps, each `step_users` users higher
STEP_USERS = 10
# A service capped at a fraction of a core is near saturation with one closed-loop user: the
# steps start there, so the first is unsaturated and the model check has a D to predict from.
CAPPED_STEP_USERS = 1
MIN_STEP_S = 5.0


@dataclass(frozen=True, kw_only=True)
class DemoSettings:
    out_dir: Path
    duration_s: float = 120.0
    step_users: int | None = None  # None: STEP_USERS, or CAPPED_STEP_USERS under a cap
    profiles: int = 10_000
    target_rps: float = DEFAULT_TARGET_RPS
    slo_p95_ms: float = 100.0
    instance_type: str = "t3.medium"
    service: Settings | None = None  # None: embedded default (temporary SQLite, no rate limit)
    cookies: bool = True  # False: stateless API clients (no read-your-writes stickiness)
    service_cpu_cap: float | None = None  # --service-cpus: the service under a CPU quota

    def __post_init__(self) -> None:
        check_service_cpu_cap(self.service_cpu_cap, foreign=False)
        if self.duration_s < MIN_STEP_S * 2:
            raise LoadTestError(f"--duration must be at least {MIN_STEP_S * 2:.0f}s")
        if self.users_per_step < 1 or self.profiles < 1 or self.target_rps <= 0:
            raise LoadTestError("--step-users, --profiles and --target-rps must be positive")
        if self.slo_p95_ms <= 0:
            raise LoadTestError("--slo-p95-ms must be positive")

    @property
    def users_per_step(self) -> int:
        if self.step_users is not None:
            return self.step_users
        return CAPPED_STEP_USERS if self.service_cpu_cap is not None else STEP_USERS

    @property
    def step_seconds(self) -> float:
        return max(MIN_STEP_S, self.duration_s / STEPS)


@dataclass(frozen=True)
class DemoResult:
    settings: DemoSettings
    summary: Summary
    plan: PlanReport
    files: list[Path]
    interrupted: bool
    load_exit_code: int


@dataclass(frozen=True)
class DemoProgress:
    """Where the step load is: seconds into it, the users it has reached, Locust's live line."""

    elapsed_s: float
    duration_s: float
    users: int
    line: str


PhaseCallback = Callable[[str], None]
LoadCallback = Callable[[DemoProgress], None]


def _ignore(_: object) -> None:
    return None


def run_demo(
    settings: DemoSettings,
    *,
    on_phase: PhaseCallback = _ignore,
    on_load: LoadCallback = _ignore,
) -> DemoResult:
    """Measure, report and plan; `on_phase` hears each phase's name, `on_load` the load's
    progress."""
    settings.out_dir.mkdir(parents=True, exist_ok=True)
    exit_code, interrupted = _measure(settings, on_phase, on_load)
    if not (settings.out_dir / "locust_stats.csv").exists():
        raise LoadTestError(f"no measurements in {settings.out_dir}: see its locust.log")
    on_phase("writing the report and the plan")
    # Imported late: pandas/matplotlib/scipy are slow to import and only needed at the end.
    from reports.report import write_report
    from reports.slo import Slo

    files = write_report(settings.out_dir, slo=Slo(p95_ms=settings.slo_p95_ms))
    plan, plan_files = _plan(settings)
    summary = read_summary(files.summary)
    return DemoResult(
        settings=settings,
        summary=summary,
        plan=plan,
        files=[files.html, files.markdown, files.summary, *plan_files],
        interrupted=interrupted,
        load_exit_code=exit_code,
    )


def _measure(
    settings: DemoSettings, on_phase: PhaseCallback, on_load: LoadCallback
) -> tuple[int, bool]:
    # The service on a CPU of its own, Locust on the others (one process per CPU), so the run
    # measures the service rather than two programs sharing cores.
    split = split_cpus()
    on_phase(f"starting the reference service, seeding {settings.profiles:,} profiles")
    with reference_service(
        settings.service,
        profiles=settings.profiles,
        cpus=split.service,
        cpu_cap=settings.service_cpu_cap,
    ) as service:
        run = RunSettings(
            out_dir=settings.out_dir,
            host=service.base_url,
            users=settings.users_per_step,
            spawn_rate=float(settings.users_per_step),
            duration_s=settings.duration_s,
            shape="step",
            step_seconds=settings.step_seconds,
            id_count=settings.profiles,
            cookies=settings.cookies,
            processes=AUTO,
            cpu_split=split,
            service_cpu_cap=settings.service_cpu_cap,
        )

        def progress(p: RunProgress) -> None:
            step = int(p.elapsed_s // settings.step_seconds) + 1
            users = settings.users_per_step * min(step, STEPS)
            on_load(DemoProgress(p.elapsed_s, settings.duration_s, users, p.line().strip()))

        try:
            outcome = run_load_test(run, on_progress=progress)
        except KeyboardInterrupt:  # arrived between Locust polls: keep what was written
            return 130, True
    interrupted = (outcome.record.elapsed_s or settings.duration_s) < settings.duration_s - 2
    return outcome.exit_code, interrupted


def _plan(settings: DemoSettings) -> tuple[PlanReport, list[Path]]:
    from capacity.planner import PlanOptions, make_plan_report
    from capacity.pricing import load_price_book
    from capacity.render import to_markdown
    from capacity.report import plan_document
    from rundir.plan_json import PLAN_FILE, plan_text

    options = PlanOptions(
        run_dir=settings.out_dir,
        target_rps=settings.target_rps,
        instance_type=settings.instance_type,
    )
    report = make_plan_report(options, load_price_book())
    md_path = settings.out_dir / "plan.md"
    json_path = settings.out_dir / PLAN_FILE
    md_path.write_text(to_markdown(report), encoding="utf-8")
    json_path.write_text(plan_text(plan_document(report)), encoding="utf-8")
    return report, [md_path, json_path]
