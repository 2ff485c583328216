"""The engine behind `loadcap run`: one Locust run into a run directory.

It starts the embedded reference service when no host is given, builds Locust's command line
(our locustfile and its custom arguments), runs Locust in its own process group, scrapes the
target's `/metrics`, shows a progress line, and writes `run.json` (docs/run-directory.md).
What the run came to (its exit code and message) is judged from Locust's CSVs in
`pipeline/outcome.py`.
"""

from __future__ import annotations

import ast
import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

import msgspec

import loadtests
from loadtests.arguments import LocustOptions
from loadtests.errors import LoadTestError
from loadtests.id_range import id_count_of
from loadtests.progress import Progress, latest_progress
from loadtests.stages import STAGE_BUILDERS
from pipeline.cpu_split import AUTO, CpuSplit, pinned, resolve_processes, split_cpus
from pipeline.embedded import EmbeddedService, reference_service
from pipeline.locust_workers import ExternalWorkers, master_arguments, workers_missing
from pipeline.metrics_snapshots import MetricsSnapshots
from pipeline.outcome import judge_outcome
from pipeline.prometheus_fleet import FleetMetrics, PrometheusApi, check_selector
from pipeline.run_record import run_record
from rundir.generator_csv import GENERATOR_FILE
from rundir.mix import Mix
from rundir.run_json import RUN_FILE, RunRecord, write_run_record
from rundir.units import format_duration
from rundir.windows_json import WINDOWS_FILE
from target_service.process import stop_process

LOCUSTFILE = Path(loadtests.__file__).with_name("locustfile.py")
PLUGIN_MODULES = frozenset({"loadtests.plugin", "loadtests.locustfile"})
DEFAULT_MAX_ERROR_RATE = 0.01
# Files a run writes; a reused --out loses the previous run's, so nothing stale is reported.
RUN_OUTPUTS = (
    "locust_stats.csv", "locust_stats_history.csv", "locust_failures.csv",
    "locust_exceptions.csv", "locust_report.html", "locust.log", "hdr.json", "windows.json",
    GENERATOR_FILE,
    "run.json",
    "summary.json", "report.md", "report.html", "progress.json",
)  # fmt: skip
LOCUST_METRICS_LINGER_S = 5.0  # --locust-metrics-port: Locust's last seconds after the run
STARTUP_GRACE_S = 30.0  # Locust's own start (and --processes forks) before the clock runs
SHUTDOWN_GRACE_S = 20.0
KILL_GRACE_S = 5.0
PROGRESS_FILE = "progress.json"
MAX_SERVICE_CORES = 4096


@dataclass(frozen=True, kw_only=True)
class RunSettings:
    """What `loadcap run` was asked; validated on construction."""

    out_dir: Path
    host: str | None = None
    users: int = 10
    spawn_rate: float | None = None  # None: every user starts within the first second
    duration_s: float = 20.0
    shape: str | None = None
    step_seconds: float = 10.0  # step shape: length of each step (users grow by `users`)
    rps: float | None = None
    processes: int | str = 1  # or "auto": one Locust process per CPU the generator may use
    web: bool = False
    web_port: int = 8089
    max_in_flight: int = 200
    mix: Mix = field(default_factory=Mix)
    cookies: bool = True  # False: stateless API clients (Locust's --no-cookies)
    id_count: int | None = None  # None: the embedded seed, or learned from the target
    locustfile: Path | None = None  # None: loadcap's profiles workload
    max_error_rate: float = DEFAULT_MAX_ERROR_RATE  # failures within this still exit 0
    metrics_url: str | None = None  # the target's Prometheus text; None: HOST/metrics
    # The service side from a Prometheus server instead, summed over the selector's instances.
    prometheus_url: str | None = None
    prometheus_selector: str | None = None
    # Keep Locust's web UI (and its /metrics) up on this port during a headless run.
    locust_metrics_port: int | None = None
    metrics_interval_s: float = 2.0
    # Where the service and Locust run: given by an orchestrator that started and pinned the
    # service itself; None: worked out here (pinned only for the embedded service).
    cpu_split: CpuSplit | None = None
    # Cores the target may use, for a target that does not export loadcap_cpu_cores_available
    # (a foreign service): turns its CPU seconds into a utilization.
    service_cores: float | None = None
    # --service-cpus: the service loadcap starts (or an orchestrator started, with
    # `cpu_split`) runs under a CPU quota of this many cores.
    service_cpu_cap: float | None = None
    workers: ExternalWorkers | None = None  # --expect-workers: Locust workers on other machines

    def __post_init__(self) -> None:
        if self.host is not None:
            parsed = urlparse(self.host)
            if parsed.scheme not in ("http", "https") or not parsed.netloc:
                raise LoadTestError(f"--host must be an http(s) URL, got {self.host!r}")
        timings: tuple[float, ...] = (self.duration_s, self.step_seconds)
        if self.spawn_rate is not None:
            timings += (self.spawn_rate,)
        if self.users < 1 or not all(0 < value < math.inf for value in timings):
            raise LoadTestError(
                "--users, --spawn-rate, --duration and --step-seconds must be positive"
            )
        if self.id_count is not None and self.id_count < 1:
            raise LoadTestError(f"--id-count must be positive, got {self.id_count}")
        if not 0 <= self.max_error_rate <= 1:
            raise LoadTestError(f"--max-error-rate must be in [0, 1], got {self.max_error_rate}")
        if self.locustfile is not None:
            _check_locustfile(self.locustfile)
            if self.rps is not None:
                raise LoadTestError(
                    "--rps drives loadcap's profiles workload; with --locustfile, pace your "
                    "users with Locust's constant_throughput wait time instead"
                )
        if self.shape is not None and self.shape not in STAGE_BUILDERS:
            names = ", ".join(STAGE_BUILDERS)
            raise LoadTestError(f"--shape must be one of {names}, got {self.shape!r}")
        if self.rps is not None and not (0 < self.rps < math.inf):  # also refuses nan
            raise LoadTestError(f"--rps must be a positive number, got {self.rps}")
        if self.rps is not None and self.shape is not None:
            raise LoadTestError("--rps (open model) and --shape cannot be combined")
        if self.max_in_flight < 1:
            raise LoadTestError(f"--max-in-flight must be positive, got {self.max_in_flight}")
        if self.processes != AUTO:
            resolve_processes(self.processes, None)  # raises on a bad count
        if self.service_cores is not None and not 0 < self.service_cores <= MAX_SERVICE_CORES:
            raise LoadTestError(f"--service-cores must be positive, got {self.service_cores}")
        check_service_cpu_cap(
            self.service_cpu_cap, foreign=self.host is not None and self.cpu_split is None
        )
        if self.metrics_url is not None:
            parsed = urlparse(self.metrics_url)
            if parsed.scheme not in ("http", "https") or not parsed.netloc:
                raise LoadTestError(
                    f"--metrics-url must be an http(s) URL, got {self.metrics_url!r}"
                )
        if self.prometheus_url is not None:
            parsed = urlparse(self.prometheus_url)
            if parsed.scheme not in ("http", "https") or not parsed.netloc:
                raise LoadTestError(
                    f"--prometheus-url must be an http(s) URL, got {self.prometheus_url!r}"
                )
            if self.metrics_url is not None:
                raise LoadTestError("--metrics-url and --prometheus-url are two sources: give one")
        if self.prometheus_selector is not None:
            if self.prometheus_url is None:
                raise LoadTestError("--prometheus-selector needs --prometheus-url")
            check_selector(self.prometheus_selector)
        if self.locust_metrics_port is not None and not 0 < self.locust_metrics_port < 65536:
            raise LoadTestError(f"--locust-metrics-port: no such port {self.locust_metrics_port}")
        if self.workers is not None and (self.web or str(self.processes) != "1"):
            raise LoadTestError(
                "--expect-workers runs a headless master for workers on other machines; it "
                "cannot be combined with --processes (local workers) or --web"
            )
        if self.out_dir.exists() and not self.out_dir.is_dir():
            raise LoadTestError(f"--out {self.out_dir} exists and is not a directory")

    def users_for(self, processes: int) -> int:
        """Locust's `--users` (and run.json's): the flag, or for the open model one user per
        Locust process (each schedules its share of the arrivals)."""
        return processes if self.rps else self.users

    def spawn_rate_for(self, processes: int) -> float:
        """What Locust is given (and run.json records): the flag, or all users in a second."""
        if self.spawn_rate is not None:
            return self.spawn_rate
        return float(self.users_for(processes))


def check_service_cpu_cap(cores: float | None, *, foreign: bool) -> None:
    """`--service-cpus` caps a service loadcap starts; a service at --host is not its own."""
    if cores is None:
        return
    if not 0 < cores <= MAX_SERVICE_CORES:  # also refuses nan
        raise LoadTestError(f"--service-cpus must be a positive number of cores, got {cores}")
    if foreign:
        raise LoadTestError(
            "--service-cpus caps the service loadcap starts, not one at --host: run yours "
            "under a CPU limit (e.g. `loadcap serve --cpus`) and its /metrics says the cap"
        )


def _check_locustfile(path: Path) -> None:
    """A user's locustfile must exist and load loadcap's plugin, whose arguments we pass."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except OSError as exc:
        raise LoadTestError(f"--locustfile {path}: {exc.strerror or exc}") from None
    except SyntaxError as exc:
        raise LoadTestError(f"--locustfile {path}: line {exc.lineno}: {exc.msg}") from None
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        if any(name in PLUGIN_MODULES for name in names):
            return
    raise LoadTestError(
        f"--locustfile {path} does not load loadcap's plugin: add the line "
        "`import loadtests.plugin` to it (see docs/own-service.md)"
    )


@dataclass(frozen=True)
class RunOutcome:
    exit_code: int
    out_dir: Path
    record: RunRecord  # what run.json holds
    message: str


ProgressCallback = Callable[[Progress], None]


def run_load_test(
    settings: RunSettings, *, on_progress: ProgressCallback | None = None
) -> RunOutcome:
    """Runs Locust to completion (bounded by the duration plus grace) and records the run."""
    settings.out_dir.mkdir(parents=True, exist_ok=True)
    clear_run_outputs(settings.out_dir)
    # Only a service loadcap starts itself is put on CPUs of its own.
    split = settings.cpu_split or (
        split_cpus() if settings.host is None else CpuSplit(service=None, generator=None)
    )
    processes = (
        settings.workers.count
        if settings.workers is not None
        else resolve_processes(settings.processes, split.generator)
    )
    service: AbstractContextManager[EmbeddedService | None] = (
        reference_service(cpus=split.service, cpu_cap=settings.service_cpu_cap)
        if settings.host is None
        else nullcontext()
    )
    with service as embedded:
        host = embedded.base_url if embedded else str(settings.host)
        id_count = settings.id_count or (embedded.profiles if embedded else 0)
        if not id_count and settings.locustfile is None:
            # Learned here, outside the run's time; 0 leaves it to the locustfile.
            id_count = id_count_of(host) or 0
        metrics_url = settings.metrics_url or host.rstrip("/") + "/metrics"
        fleet = _fleet(settings)
        if fleet is not None:
            fleet.check()  # before the load: a wrong URL or selector is the user's error
        launched_at = datetime.now(UTC)
        with _snapshots(metrics_url, settings, fleet) as _:
            command = locust_command(
                settings, host, id_count, processes=processes, metrics_url=metrics_url
            )
            exit_code, load_started = _run_locust(
                pinned(command, split.generator), settings, on_progress
            )
        ended_at = datetime.now(UTC)
    # The run's clock starts when Locust's test did (its stages and run time count from
    # there), not when its process was launched: on a busy machine that takes seconds.
    started_at = datetime.fromtimestamp(load_started, UTC) if load_started else launched_at
    record = run_record(
        replace(settings, id_count=id_count or None),
        host=host,
        embedded=embedded is not None,
        exit_code=exit_code,
        started_at=started_at,
        ended_at=ended_at,
        processes=processes,
        metrics_url=metrics_url,
        cpu_split=split,
    )
    exit_code, message = judge_outcome(settings.out_dir, exit_code, settings.max_error_rate)
    missing = workers_missing(settings.out_dir, settings.workers)
    if missing:
        exit_code, message = 1, missing
    record = msgspec.structs.replace(record, exit_code=exit_code)
    write_run_record(settings.out_dir / RUN_FILE, record)
    return RunOutcome(exit_code, settings.out_dir, record, message)


def clear_run_outputs(out_dir: Path) -> None:
    """Remove what an earlier run left in a reused --out (only loadcap's own file names)."""
    for name in RUN_OUTPUTS:
        (out_dir / name).unlink(missing_ok=True)
    metrics = out_dir / "metrics"
    if metrics.is_dir():
        for path in (*metrics.glob("*.prom"), metrics / "index.csv"):
            path.unlink(missing_ok=True)


def _fleet(settings: RunSettings) -> FleetMetrics | None:
    if settings.prometheus_url is None:
        return None
    return FleetMetrics(PrometheusApi(settings.prometheus_url), settings.prometheus_selector)


@contextmanager
def _snapshots(
    metrics_url: str, settings: RunSettings, fleet: FleetMetrics | None
) -> Iterator[MetricsSnapshots]:
    snapshots = MetricsSnapshots(
        metrics_url, settings.out_dir, interval_s=settings.metrics_interval_s, fleet=fleet
    )
    snapshots.start()
    try:
        yield snapshots
    finally:
        snapshots.finish()


def locust_command(
    settings: RunSettings,
    host: str,
    id_count: int,
    *,
    processes: int = 1,
    metrics_url: str | None = None,
) -> list[str]:
    out = settings.out_dir
    locustfile = settings.locustfile.resolve() if settings.locustfile else LOCUSTFILE
    users = settings.users_for(processes)
    command = [
        sys.executable, "-m", "locust", "-f", str(locustfile), "--host", host,
        "--csv", str(out / "locust"), "--csv-full-history",
        "--html", str(out / "locust_report.html"),
        "--run-time", format_duration(settings.duration_s),
        "--exit-code-on-error", "1",
        "--stop-timeout", "0",
        "--users", str(users), "--spawn-rate", f"{settings.spawn_rate_for(processes):g}",
    ]  # fmt: skip
    command += locust_options(settings, host, id_count, metrics_url=metrics_url).argv()
    command += master_arguments(processes, settings.workers)
    if settings.web:
        command += ["--web-host", "127.0.0.1", "--web-port", str(settings.web_port)]
        command += ["--class-picker"]
    elif settings.locust_metrics_port is not None:
        # --autostart runs like --headless but keeps the web UI, which serves /metrics; it
        # lingers after the run so a Prometheus scrapes the final counts.
        command += ["--autostart", "--autoquit", f"{LOCUST_METRICS_LINGER_S:g}", "--only-summary"]
        command += ["--web-host", "127.0.0.1", "--web-port", str(settings.locust_metrics_port)]
    else:
        command += ["--headless", "--only-summary"]
    return command


def locust_options(
    settings: RunSettings, host: str, id_count: int, *, metrics_url: str | None = None
) -> LocustOptions:
    """loadcap's own flags for this run, typed (loadtests/arguments.py reads them back)."""
    out = settings.out_dir
    options = LocustOptions(
        hdr_out=str(out / "hdr.json"),
        windows_out=str(out / WINDOWS_FILE),
        generator_out=str(out / GENERATOR_FILE),
        metrics_url=metrics_url or host.rstrip("/") + "/metrics",
        progress_out=str(out / PROGRESS_FILE),
        no_cookies=not settings.cookies,
    )
    if settings.locustfile is None:
        mix = ",".join(str(w) for w in settings.mix.as_dict().values())
        options = replace(options, mix=mix, id_count=id_count)
    if settings.rps:
        options = replace(options, rps=settings.rps, max_in_flight=settings.max_in_flight)
    if settings.shape:
        options = replace(
            options,
            shape=settings.shape,
            shape_seconds=settings.duration_s,
            step_users=settings.users,  # step: +users every step
            step_seconds=settings.step_seconds,
        )
    return options


def _run_locust(
    command: list[str], settings: RunSettings, on_progress: ProgressCallback | None
) -> tuple[int, float | None]:
    """Locust's exit code, and the unix time its test started (from the plugin's totals)."""
    log_path = settings.out_dir / "locust.log"
    live = settings.out_dir / PROGRESS_FILE
    live.unlink(missing_ok=True)
    started = time.monotonic()
    waiting = settings.workers.wait_s if settings.workers is not None else 0.0
    if settings.locust_metrics_port is not None:
        waiting += LOCUST_METRICS_LINGER_S  # Locust stays up for Prometheus' last scrape
    deadline = None if settings.web else started + settings.duration_s + STARTUP_GRACE_S + waiting
    load_started: float | None = None
    with log_path.open("w", encoding="utf-8") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
        try:
            while process.poll() is None:
                if deadline is not None and time.monotonic() > deadline:
                    _stop(process)
                    break
                progress = latest_progress(live, time.monotonic() - started)
                if progress is not None:
                    load_started = load_started or progress.load_started_at
                    if on_progress is not None:
                        on_progress(progress)
                time.sleep(0.5)
        except KeyboardInterrupt:
            _stop(process)  # Locust writes its reports on SIGINT; wait for them
        finally:
            if process.poll() is None:
                _stop(process)
            live.unlink(missing_ok=True)  # only meaningful while the run is going
    code = process.returncode if process.returncode is not None else 1
    return code, load_started


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGINT to Locust's process group first (it then writes its CSV and HTML), SIGKILL if
    it hangs."""
    stop_process(
        process,
        signals=((signal.SIGINT, SHUTDOWN_GRACE_S), (signal.SIGKILL, KILL_GRACE_S)),
        group=True,
    )
