"""Build run directories (summary.json, optional hdr.json) for the gate's tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

LIST, GET = "GET /api/profiles", "GET /api/profile/{id}"


def endpoint(
    name: str,
    *,
    requests: int = 1000,
    failures: int = 0,
    rps: float = 80.0,
    p50: float = 4.0,
    p95: float = 12.0,
    p99: float = 30.0,
    hdr: dict[str, float] | None = None,
) -> dict[str, Any]:
    method, _, _route = name.partition(" ")
    row: dict[str, Any] = {
        "name": name,
        "method": method,
        "requests": requests,
        "failures": failures,
        "error_rate": failures / requests if requests else 0.0,
        "rps": rps,
        "p50_ms": p50,
        "p95_ms": p95,
        "p99_ms": p99,
        "share": 0.5,
    }
    if hdr is not None:
        row["hdr"] = hdr
    return row


def totals(**values: Any) -> dict[str, Any]:
    row = endpoint("Aggregated", **values)
    for key in ("name", "method", "share"):
        row.pop(key)
    return row


def write_run(
    directory: Path,
    *,
    total: dict[str, Any] | None = None,
    endpoints: list[dict[str, Any]] | None = None,
    hdr_json: dict[str, Any] | None = None,
    **extra: Any,
) -> Path:
    """A run directory whose summary.json follows docs/run-directory.md."""
    directory.mkdir(parents=True, exist_ok=True)
    summary = {
        "totals": total if total is not None else totals(requests=1000, rps=100.0),
        "endpoints": endpoints
        if endpoints is not None
        else [endpoint(LIST), endpoint(GET, requests=200, rps=20.0)],
        **extra,
    }
    (directory / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    if hdr_json is not None:
        (directory / "hdr.json").write_text(json.dumps(hdr_json), encoding="utf-8")
    return directory
