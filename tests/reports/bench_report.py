"""Benchmark: how long `loadcap report` takes on a one-hour run (3,600 history rows per
endpoint, a /metrics snapshot every 5 s). Prints figures; asserts nothing.

    .venv/bin/python -m tests.reports.bench_report [--seconds 3600] [--repeat 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from reports.load import load_run_data
from reports.report import write_report
from reports.summary import write_summary
from tests.reports.recorded import PLAIN, RUNS
from tests.reports.synthetic_run import write_synthetic_run


def _best_of(repeat: int, action: Callable[[], object]) -> float:
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        timings.append(time.perf_counter() - started)
    return min(timings)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=3600)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        run_dir = write_synthetic_run(Path(scratch) / "run", RUNS / PLAIN, seconds=args.seconds)
        rows = sum(1 for _ in (run_dir / "locust_stats_history.csv").open()) - 1
        snapshots = len(list((run_dir / "metrics").glob("*.prom")))
        print(f"synthetic run: {args.seconds} s, {rows} history rows, {snapshots} snapshots")
        print(f"load_run_data {_best_of(args.repeat, lambda: load_run_data(run_dir)):6.2f} s")
        print(f"write_summary {_best_of(args.repeat, lambda: write_summary(run_dir)):6.2f} s")
        print(f"write_report  {_best_of(args.repeat, lambda: write_report(run_dir)):6.2f} s")
        html_kb = (run_dir / "report.html").stat().st_size / 1024
        print(f"report.html   {html_kb:6.0f} KB")


if __name__ == "__main__":
    main()
