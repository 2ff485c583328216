"""The recorded run directories under tests/data/recorded_runs (see its README.md).

Not `tests/data/runs`: .gitignore ignores every `runs/` directory (where `loadcap run` writes).
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

RUNS = Path(__file__).resolve().parents[1] / "data" / "recorded_runs"
CONSTANT = "constant"  # `loadcap run`, constant users: metrics/, hdr.json, run.json
STEP = "step"  # `loadcap run --shape step`, pushed past the SLO
PLAIN = "plain_locust"  # plain `locust --csv ... --csv-full-history`: CSVs only
OPEN = "open_model"  # `loadcap run --rps`: hdr.json has the intended-start latencies


def copy_run(name: str, destination: Path) -> Path:
    """A scratch copy (reports write into the run directory; the committed data stays clean)."""
    target = destination / name
    shutil.copytree(RUNS / name, target, ignore=shutil.ignore_patterns("summary.json", "report.*"))
    return target


def aggregated_row(run_dir: Path) -> dict[str, str]:
    """The Aggregated row of locust_stats.csv, read with nothing but the csv module."""
    with (run_dir / "locust_stats.csv").open(newline="") as handle:
        return next(row for row in csv.DictReader(handle) if row["Name"] == "Aggregated")
