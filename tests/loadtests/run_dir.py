"""Reading a run directory in tests: Locust's CSV rows by name, hdr.json, run.json."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

FOUR_ENDPOINTS = {
    "GET /api/profiles",
    "GET /api/profile/{id}",
    "POST /api/profiles",
    "PATCH /api/profile/{id}",
}


def locust_rows(run_dir: Path) -> dict[str, dict[str, str]]:
    """`locust_stats.csv` rows keyed like hdr.json: `"GET /api/profiles"`, `"Aggregated"`."""
    with (run_dir / "locust_stats.csv").open(newline="") as handle:
        return {
            "Aggregated" if row["Name"] == "Aggregated" else f"{row['Type']} {row['Name']}": row
            for row in csv.DictReader(handle)
        }


def load_json(path: Path) -> Any:
    return json.loads(path.read_text())
