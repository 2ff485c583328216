"""`run.json`: what was asked and what happened (docs/run-directory.md)."""

from __future__ import annotations

import json
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loadtests.stages import STAGE_BUILDERS, ShapeSettings

if TYPE_CHECKING:
    from loadtests.runner import RunSettings


def run_record(
    settings: RunSettings,
    *,
    host: str,
    embedded: bool,
    exit_code: int,
    started_at: datetime,
    ended_at: datetime,
) -> dict[str, Any]:
    return {
        "loadcap_version": _version("loadcap"),
        "locust_version": _version("locust"),
        "host": host,
        "started_at": started_at.isoformat(),
        "ended_at": ended_at.isoformat(),
        "duration_s": settings.duration_s,
        "elapsed_s": round((ended_at - started_at).total_seconds(), 3),
        "users": settings.processes if settings.rps else settings.users,
        "spawn_rate": settings.effective_spawn_rate,
        "processes": settings.processes,
        "shape": settings.shape,
        "stages": planned_stages(settings),
        "mix": None if settings.locustfile else settings.mix.as_dict(),
        "locustfile": str(settings.locustfile) if settings.locustfile else None,
        "id_count": settings.id_count,
        "cookies": settings.cookies,
        "open_model": open_model_facts(settings.out_dir / "hdr.json") if settings.rps else None,
        "embedded_service": embedded,
        "web": settings.web,
        "exit_code": exit_code,
    }


def planned_stages(settings: RunSettings) -> list[dict[str, Any]]:
    if settings.shape:
        shape = ShapeSettings(
            total_s=settings.duration_s,
            users=settings.users,
            spawn_rate=settings.effective_spawn_rate,
            step_users=settings.users,
            step_seconds=settings.step_seconds,
        )
        return [stage.as_dict() for stage in STAGE_BUILDERS[settings.shape](shape)]
    users = settings.processes if settings.rps else settings.users
    return [{"start_s": 0.0, "end_s": settings.duration_s, "users": users, "rps": settings.rps}]


def open_model_facts(hdr_json: Path) -> dict[str, Any] | None:
    """The master's tally of scheduled, late and dropped sends, kept in `hdr.json`."""
    try:
        facts = json.loads(hdr_json.read_text(encoding="utf-8")).get("open_model")
    except (OSError, ValueError):
        return None
    return facts if isinstance(facts, dict) else None


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"
