#!/usr/bin/env python3
"""The load generator's own cost, row (d) of `scripts/bench`, repeated and side by side:
one Locust process running loadtests/locustfile.py against the trivial target (the ceiling
app, scripts/bench_ceiling.py) ÷ a bare `FastHttpUser` (scripts/bench_bare_user.py) sending
the same four requests, in alternating order, `--repeat` times.

    .venv/bin/python scripts/bench_generator.py [--repeat 3] [--duration 15] [--users 64]
                                                [--baseline GIT_REF]

`--baseline REF` also runs the locustfile as it was at REF (`git archive` into a temporary
directory, same venv), so a before/after comparison shares one ceiling server and one
stretch of the machine's weather. Besides req/s it prints the Locust process's CPU per
request (user + system from its rusage): on a shared machine that drifts far less than req/s.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scripts.bench import PAGE_LIMIT, Cores, ceiling_server, pinned  # noqa: E402

BARE = "bare"
CURRENT = "locustfile"


@dataclass(frozen=True)
class Run:
    label: str
    rps: float
    requests: int
    failures: int
    cpu_us: float  # the Locust process's user + system CPU per request


def run_locust(label: str, root: Path, url: str, args: argparse.Namespace, cores: Cores) -> Run:
    bare = label == BARE
    with tempfile.TemporaryDirectory(prefix="loadcap-bench-gen-") as tmp:
        locustfile = "scripts/bench_bare_user.py" if bare else "loadtests/locustfile.py"
        command = [
            sys.executable, "-m", "locust", "-f", locustfile, "--headless", "--only-summary",
            "-u", str(args.users), "-r", str(args.users), "-t", f"{args.duration}s",
            "--host", url, "--csv", f"{tmp}/run", "--loglevel", "ERROR",
        ]  # fmt: skip
        if not bare:
            command += [
                "--id-count", str(args.profiles), "--hot-fraction", "1", "--hot-share", "1",
                "--page-limit", str(PAGE_LIMIT), "--no-cookies",
            ]  # fmt: skip
        # The tree under test first on the path: a baseline must not import this checkout.
        env = {**os.environ, "BENCH_ID_COUNT": str(args.profiles), "PYTHONPATH": str(root)}
        process = subprocess.Popen(
            command, cwd=root, env=env, preexec_fn=pinned(cores.generator),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        _, _, usage = os.wait4(process.pid, 0)
        process.returncode = 0
        with open(f"{tmp}/run_stats.csv", newline="") as handle:
            total = next(r for r in csv.DictReader(handle) if r["Name"] == "Aggregated")
    requests = int(total["Request Count"])
    cpu_s = usage.ru_utime + usage.ru_stime
    return Run(
        label=label,
        rps=float(total["Requests/s"]),
        requests=requests,
        failures=int(total["Failure Count"]),
        cpu_us=cpu_s / requests * 1e6 if requests else float("nan"),
    )


def baseline_tree(ref: str, into: Path) -> Path:
    archive = into / "baseline.tar"
    subprocess.run(["git", "archive", "--output", str(archive), ref], cwd=ROOT, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into / "tree", filter="data")
    return into / "tree"


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} (min {min(values):.2f}, max {max(values):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--duration", type=int, default=15, help="seconds per Locust run")
    parser.add_argument("--users", type=int, default=64)
    parser.add_argument("--profiles", type=int, default=10_000)
    parser.add_argument("--baseline", metavar="GIT_REF", help="also run the locustfile at REF")
    args = parser.parse_args()
    if not 1 <= args.repeat <= 10 or not 1 <= args.duration <= 120:
        parser.error("--repeat must be 1..10 and --duration 1..120 s")
    cores = Cores.split()
    if cores.generator is not None:
        os.sched_setaffinity(0, cores.generator)
    print(f"bench_generator: {cores.describe()}; {args.users} users, {args.duration} s a run, "
          f"{args.repeat} rounds", flush=True)  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="loadcap-bench-gen-") as tmp:
        trees = {BARE: ROOT, CURRENT: ROOT}
        if args.baseline:
            trees[f"@{args.baseline}"] = baseline_tree(args.baseline, Path(tmp))
        runs: dict[str, list[Run]] = {label: [] for label in trees}
        with ceiling_server(cores) as (url, _):
            labels = list(trees)
            for round_ in range(args.repeat):
                order = labels[round_ % len(labels) :] + labels[: round_ % len(labels)]
                for label in order:
                    run = run_locust(label, trees[label], url, args, cores)
                    runs[label].append(run)
                    print(f"  round {round_ + 1} {label:<16} {run.rps:8,.0f} req/s  "
                          f"{run.cpu_us:6.0f} CPU µs/req  {run.failures} failures",
                          flush=True)  # fmt: skip
    print()
    bare = runs[BARE]
    for label in labels[1:]:
        ratios = [mine.rps / b.rps for mine, b in zip(runs[label], bare, strict=True)]
        cpu = [b.cpu_us / mine.cpu_us for mine, b in zip(runs[label], bare, strict=True)]
        print(f"{label} ÷ bare, req/s:           {spread(ratios)}")
        print(f"{label} ÷ bare, CPU per request: {spread(cpu)}  (bare µs ÷ this µs)")


if __name__ == "__main__":
    main()
