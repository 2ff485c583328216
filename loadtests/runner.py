"""The engine behind `loadcap run`: one Locust run into a run directory.

It starts the embedded reference service when no host is given, builds Locust's command line
(our locustfile and its custom arguments), runs Locust in its own process group, scrapes the
target's `/metrics`, shows a progress line, and writes `run.json` (docs/run-directory.md).
"""

from __future__ import annotations

import csv
import json
import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from loadtests.cpu_split import AUTO, CpuSplit, pinned, resolve_processes, split_cpus
from loadtests.durations import format_duration
from loadtests.embedded import EmbeddedService, embedded_service
from loadtests.errors import LoadTestError
from loadtests.generator_cpu import GENERATOR_FILE
from loadtests.metrics_snapshots import MetricsSnapshots
from loadtests.mix import Mix
from loadtests.progress import Progress, latest_progress
from loadtests.run_record import run_record
from loadtests.stages import STAGE_BUILDERS

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
STARTUP_GRACE_S = 30.0  # Locust's own start (and --processes forks) before the clock runs
SHUTDOWN_GRACE_S = 20.0
PROGRESS_FILE = "progress.json"


@dataclass(frozen=True, kw_only=True)
class RunSettings:
    """What `loadcap run` was asked; validated on construction."""

    out_dir: Path
    host: str | None = None
    users: int = 10
    spawn_rate: float = 10.0
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
    id_count: int | None = None
    metrics_url: str | None = None  # the target's Prometheus text; None: HOST/metrics
    metrics_interval_s: float = 2.0
    # Where the service and Locust run: given by an orchestrator that started and pinned the
    # service itself; None: worked out here (pinned only for the embedded service).
    cpu_split: CpuSplit | None = None
    # Cores the target may use, for a target that does not export loadcap_cpu_cores_available
    # (a foreign service): turns its CPU seconds into a utilization.
    service_cores: float | None = None

    def __post_init__(self) -> None:
        if self.host is not None:
            parsed = urlparse(self.host)
            if parsed.scheme not in ("http", "https") or not parsed.netloc:
                raise LoadTestError(f"--host must be an http(s) URL, got {self.host!r}")
        timings = (self.spawn_rate, self.duration_s, self.step_seconds)
        if self.users < 1 or not all(0 < value < math.inf for value in timings):
            raise LoadTestError(
                "--users, --spawn-rate, --duration and --step-seconds must be positive"
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
        if self.service_cores is not None and not 0 < self.service_cores <= 4096:
            raise LoadTestError(f"--service-cores must be positive, got {self.service_cores}")
        if self.metrics_url is not None:
            parsed = urlparse(self.metrics_url)
            if parsed.scheme not in ("http", "https") or not parsed.netloc:
                raise LoadTestError(
                    f"--metrics-url must be an http(s) URL, got {self.metrics_url!r}"
                )
        if self.out_dir.exists() and not self.out_dir.is_dir():
            raise LoadTestError(f"--out {self.out_dir} exists and is not a directory")


@dataclass(frozen=True)
class RunOutcome:
    exit_code: int
    out_dir: Path
    record: dict[str, Any]
    message: str


ProgressCallback = Callable[[Progress], None]


def run_load_test(
    settings: RunSettings, *, on_progress: ProgressCallback | None = None
) -> RunOutcome:
    """Runs Locust to completion (bounded by the duration plus grace) and records the run."""
    settings.out_dir.mkdir(parents=True, exist_ok=True)
    # Only a service loadcap starts itself is put on CPUs of its own.
    split = settings.cpu_split or (
        split_cpus() if settings.host is None else CpuSplit(service=None, generator=None)
    )
    processes = resolve_processes(settings.processes, split.generator)
    service: AbstractContextManager[EmbeddedService | None] = (
        embedded_service(command_prefix=pinned([], split.service))
        if settings.host is None
        else nullcontext()
    )
    with service as embedded:
        host = embedded.base_url if embedded else str(settings.host)
        id_count = settings.id_count or (embedded.profiles if embedded else 1000)
        metrics_url = settings.metrics_url or host.rstrip("/") + "/metrics"
        launched_at = datetime.now(UTC)
        with _snapshots(metrics_url, settings) as _:
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
        settings,
        host=host,
        embedded=embedded is not None,
        exit_code=exit_code,
        started_at=started_at,
        ended_at=ended_at,
        processes=processes,
        metrics_url=metrics_url,
        cpu_split=split,
    )
    (settings.out_dir / "run.json").write_text(json.dumps(record, indent=2) + "\n", "utf-8")
    return RunOutcome(
        exit_code, settings.out_dir, record, outcome_message(settings.out_dir, exit_code)
    )


@contextmanager
def _snapshots(metrics_url: str, settings: RunSettings) -> Iterator[MetricsSnapshots]:
    snapshots = MetricsSnapshots(
        metrics_url, settings.out_dir, interval_s=settings.metrics_interval_s
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
    command = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--host", host,
        "--csv", str(out / "locust"), "--csv-full-history",
        "--html", str(out / "locust_report.html"),
        "--hdr-out", str(out / "hdr.json"),
        "--generator-out", str(out / GENERATOR_FILE),
        "--metrics-url", metrics_url or host.rstrip("/") + "/metrics",
        "--progress-out", str(out / PROGRESS_FILE),
        "--mix", ",".join(str(w) for w in settings.mix.as_dict().values()),
        "--id-count", str(id_count),
        "--run-time", format_duration(settings.duration_s),
        "--exit-code-on-error", "1",
        "--stop-timeout", "0",
    ]  # fmt: skip
    users = processes if settings.rps else settings.users
    command += ["--users", str(users), "--spawn-rate", str(max(settings.spawn_rate, users))]
    if settings.rps:
        command += ["--rps", str(settings.rps), "--max-in-flight", str(settings.max_in_flight)]
    if settings.shape:
        command += ["--shape", settings.shape, "--shape-seconds", str(settings.duration_s)]
        command += ["--step-users", str(settings.users)]  # step: +users every step
        command += ["--step-seconds", str(settings.step_seconds)]
    if not settings.cookies:
        command += ["--no-cookies"]
    if processes > 1:
        command += ["--processes", str(processes)]
    if settings.web:
        command += ["--web-host", "127.0.0.1", "--web-port", str(settings.web_port)]
        command += ["--class-picker"]
    else:
        command += ["--headless", "--only-summary"]
    return command


def _run_locust(
    command: list[str], settings: RunSettings, on_progress: ProgressCallback | None
) -> tuple[int, float | None]:
    """Locust's exit code, and the unix time its test started (from the plugin's totals)."""
    log_path = settings.out_dir / "locust.log"
    live = settings.out_dir / PROGRESS_FILE
    live.unlink(missing_ok=True)
    started = time.monotonic()
    deadline = None if settings.web else started + settings.duration_s + STARTUP_GRACE_S
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
    """SIGINT first (Locust then writes its CSV and HTML), SIGKILL if it hangs."""
    for sig, wait_s in ((signal.SIGINT, SHUTDOWN_GRACE_S), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait_s)
            return
        except subprocess.TimeoutExpired:
            continue


def outcome_message(out_dir: Path, exit_code: int) -> str:
    """One line for the terminal: totals, or what went wrong and where to look."""
    totals = _aggregated_totals(out_dir / "locust_stats.csv")
    if totals is None:
        log = out_dir / "locust.log"
        return f"Locust exited with code {exit_code} before any statistics; see {log}"
    requests, failures = totals
    if exit_code == 0:
        return f"{requests} requests, 0 failures; results in {out_dir}"
    if failures:
        return (
            f"{failures} of {requests} requests failed ({_first_failure(out_dir)}); "
            f"see {out_dir / 'locust_failures.csv'}"
        )
    return f"Locust exited with code {exit_code}; see {out_dir / 'locust.log'}"


def _aggregated_totals(stats_csv: Path) -> tuple[int, int] | None:
    try:
        with stats_csv.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                if row.get("Name") == "Aggregated":
                    return int(row["Request Count"]), int(row["Failure Count"])
    except (OSError, KeyError, ValueError):
        return None
    return None


def _first_failure(out_dir: Path) -> str:
    try:
        with (out_dir / "locust_failures.csv").open(newline="", encoding="utf-8") as handle:
            rows = sorted(csv.DictReader(handle), key=lambda r: -int(r.get("Occurrences") or 0))
    except (OSError, ValueError):
        return "no detail"
    if not rows:
        return "no detail"
    return f"most often: {rows[0].get('Method')} {rows[0].get('Name')}: {rows[0].get('Error')}"
