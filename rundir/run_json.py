"""`run.json`: what `loadcap run` was asked and what happened (docs/run-directory.md).

Written by `pipeline/run_record.py` (`run_record`, saved by `pipeline/runner.py` once Locust
has finished); read by the reports (run clock, stages, mix, open model, cores) and copied into
summary.json's `run`. Every field but a stage's `spawn_rate` is always written (null when it
does not apply); a field older loadcap versions did not write decodes as None.
"""

from __future__ import annotations

from pathlib import Path

import msgspec
from msgspec import UNSET, UnsetType

from rundir.document import read_document, write_document
from rundir.hdr_json import OpenModelTally

RUN_FILE = "run.json"

__all__ = [
    "RUN_FILE",
    "CpuCapRecord",
    "Machine",
    "OpenModelTally",
    "PlannedStage",
    "RunRecord",
    "read_run_record",
    "write_run_record",
]


class PlannedStage(msgspec.Struct, frozen=True, kw_only=True):
    """A stage as it was planned: from `start_s` to `end_s` seconds into the run, `users`
    users (a shape's stages also say how fast they were spawned), `rps` in the open model."""

    start_s: float | None = None
    end_s: float | None = None
    users: int | None = None
    spawn_rate: float | UnsetType = UNSET  # a shape's stages only
    rps: float | None = None


class Machine(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Where the run was measured: a per-request CPU cost holds for this CPU."""

    cpus: int | None = None
    cpu_model: str | None = None
    arch: str | None = None


class CpuCapRecord(msgspec.Struct, frozen=True, kw_only=True):
    """The CPU quota the service loadcap started ran under (`--service-cpus`): `cores` of CPU
    time per CFS period of `period_us`, all its processes together."""

    cores: float
    period_us: int


class RunRecord(msgspec.Struct, frozen=True, kw_only=True):
    """run.json: the flags as they were resolved, the clock, and where the run ran."""

    loadcap_version: str | None = None
    locust_version: str | None = None
    host: str | None = None
    started_at: str | None = None  # ISO 8601
    ended_at: str | None = None
    duration_s: float | None = None  # asked for
    elapsed_s: float | None = None  # from start to end, as it happened
    users: int | None = None
    spawn_rate: float | None = None  # what Locust was given
    processes: int | None = None  # Locust processes that ran
    shape: str | None = None  # "step" | "spike" | "soak"; None: constant users or open model
    stages: list[PlannedStage] | None = None
    # Weights by action (`list`, `get`, …) or endpoint; None with a user's own locustfile.
    # An int weight stays an int: the record is copied into summary.json as written.
    mix: dict[str, int | float] | None = None
    locustfile: str | None = None  # a user's own locustfile
    id_count: int | None = None  # the id range the profiles workload drew from
    cookies: bool | None = None
    open_model: OpenModelTally | None = None
    embedded_service: bool | None = None
    web: bool | None = None
    exit_code: int | None = None  # `loadcap run`'s
    metrics_url: str | None = None
    # The service side summed over a fleet by a Prometheus server (`--prometheus-url`).
    prometheus_url: str | None = None
    prometheus_selector: str | None = None
    service_cores: float | None = None  # --service-cores
    machine: Machine | None = None
    service_cpus: list[int] | None = None  # CPUs loadcap pinned the service to
    generator_cpus: list[int] | None = None  # and Locust to
    service_cpu_cap: CpuCapRecord | None = None  # --service-cpus; null: not capped by loadcap


def read_run_record(path: Path) -> RunRecord:
    """run.json decoded; `rundir.document.DocumentError` when unreadable or mistyped."""
    return read_document(path, RunRecord)


def write_run_record(path: Path, record: RunRecord) -> Path:
    return write_document(path, record)
