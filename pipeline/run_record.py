"""`run.json`: what was asked and what happened (docs/run-directory.md)."""

from __future__ import annotations

import platform
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from loadtests.stages import STAGE_BUILDERS, ShapeSettings
from pipeline.cpu_split import CpuSplit, available_cpus
from rundir.document import DocumentError
from rundir.hdr_json import read_hdr
from rundir.run_json import CpuCapRecord, Machine, OpenModelTally, PlannedStage, RunRecord
from target_service.cpu_cap import period_for

if TYPE_CHECKING:
    from pipeline.runner import RunSettings


def run_record(
    settings: RunSettings,
    *,
    host: str,
    embedded: bool,
    exit_code: int,
    started_at: datetime,
    ended_at: datetime,
    processes: int = 1,
    metrics_url: str | None = None,
    cpu_split: CpuSplit | None = None,
) -> RunRecord:
    split = cpu_split or CpuSplit(service=None, generator=None)
    mix: dict[str, int | float] | None = None if settings.locustfile else {**settings.mix.as_dict()}
    return RunRecord(
        loadcap_version=_version("loadcap"),
        locust_version=_version("locust"),
        host=host,
        started_at=started_at.isoformat(),
        ended_at=ended_at.isoformat(),
        duration_s=settings.duration_s,
        elapsed_s=round((ended_at - started_at).total_seconds(), 3),
        users=settings.users_for(processes),
        spawn_rate=settings.spawn_rate_for(processes),
        processes=processes,
        shape=settings.shape,
        stages=planned_stages(settings, processes),
        mix=mix,
        locustfile=str(settings.locustfile) if settings.locustfile else None,
        id_count=settings.id_count,
        cookies=settings.cookies,
        open_model=open_model_facts(settings.out_dir / "hdr.json") if settings.rps else None,
        embedded_service=embedded,
        web=settings.web,
        exit_code=exit_code,
        metrics_url=None if settings.prometheus_url else metrics_url,
        prometheus_url=settings.prometheus_url,
        prometheus_selector=settings.prometheus_selector,
        service_cores=settings.service_cores,
        # Where it ran: service demand (CPU s per request) holds for this CPU, not another.
        machine=machine_facts(),
        service_cpus=sorted(split.service) if split.service is not None else None,
        generator_cpus=sorted(split.generator) if split.generator is not None else None,
        service_cpu_cap=cpu_cap_record(settings.service_cpu_cap),
    )


def cpu_cap_record(cores: float | None) -> CpuCapRecord | None:
    """The cap as `CpuCap.create` makes it for those cores (the period by the same rule)."""
    return None if cores is None else CpuCapRecord(cores=cores, period_us=period_for(cores))


def machine_facts() -> Machine:
    return Machine(cpus=len(available_cpus()), cpu_model=cpu_model(), arch=platform.machine())


def cpu_model() -> str:
    """The CPU's model name (Linux /proc/cpuinfo), else what the platform module says."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.lower().startswith(("model name", "cpu model")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def planned_stages(settings: RunSettings, processes: int = 1) -> list[PlannedStage]:
    if settings.shape:
        shape = ShapeSettings(
            total_s=settings.duration_s,
            users=settings.users,
            spawn_rate=settings.spawn_rate_for(processes),
            step_users=settings.users,
            step_seconds=settings.step_seconds,
        )
        return [
            PlannedStage(
                start_s=stage.start_s,
                end_s=stage.end_s,
                users=stage.users,
                spawn_rate=stage.spawn_rate,
                rps=None,
            )
            for stage in STAGE_BUILDERS[settings.shape](shape)
        ]
    users = settings.users_for(processes)
    return [PlannedStage(start_s=0.0, end_s=settings.duration_s, users=users, rps=settings.rps)]


def open_model_facts(hdr_json: Path) -> OpenModelTally | None:
    """The master's tally of scheduled, late and dropped sends, kept in `hdr.json`."""
    try:
        return read_hdr(hdr_json).open_model
    except DocumentError:
        return None


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"
