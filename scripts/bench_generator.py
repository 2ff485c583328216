#!/usr/bin/env python3
"""The load generator's own cost, row (d) of `scripts/bench`, repeated and side by side:
one Locust process running loadtests/locustfile.py against the trivial target (the ceiling
app, scripts/bench_ceiling.py) ÷ a bare `FastHttpUser` (scripts/bench_bare_user.py) sending
the same four requests, in alternating order, `--repeat` times.

    .venv/bin/python scripts/bench_generator.py [--repeat 3] [--duration 15] [--users 64]
                                                [--baseline GIT_REF ...]

`--baseline REF` also runs the locustfile as it was at REF (`git archive` into a temporary
directory, same venv), so a before/after comparison shares one ceiling server and one
stretch of the machine's weather. Besides req/s it prints the Locust process's CPU per
request in the steady state (scripts/bench_generator_probe.py samples it from inside the
process, after start-up and spawn): on a shared machine that drifts far less than req/s, and
its ratio is what the req/s ratio would be if each run had a core to itself.
"""

from __future__ import annotations

import argparse
import csv
import json
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
PROBE = ROOT / "scripts" / "bench_generator_probe.py"
SETTLE_S = 2.0  # after the first request: every user spawned, caches warm


@dataclass(frozen=True)
class Run:
    label: str
    rps: float
    requests: int
    failures: int
    cpu_us: float  # the Locust process's CPU per request, steady state


def steady_cpu_us(samples: list[list[float]]) -> float:
    """CPU µs per request between SETTLE_S after the first request and the last sample."""
    started = next((wall for wall, _, requests in samples if requests > 0), None)
    steady = [s for s in samples if started is not None and s[0] >= started + SETTLE_S]
    if len(steady) < 2 or steady[-1][2] <= steady[0][2]:
        return float("nan")
    return (steady[-1][1] - steady[0][1]) / (steady[-1][2] - steady[0][2]) * 1e6


def run_locust(label: str, root: Path, url: str, args: argparse.Namespace, cores: Cores) -> Run:
    bare = label == BARE
    with tempfile.TemporaryDirectory(prefix="loadcap-bench-gen-") as tmp:
        locustfile = "scripts/bench_bare_user.py" if bare else "loadtests/locustfile.py"
        command = [
            sys.executable, "-m", "locust", "-f", f"{locustfile},{PROBE}", "--headless",
            "--only-summary",
            "-u", str(args.users), "-r", str(args.users), "-t", f"{args.duration}s",
            "--host", url, "--csv", f"{tmp}/run", "--loglevel", "ERROR",
        ]  # fmt: skip
        if not bare:
            command += [
                "--id-count", str(args.profiles), "--hot-fraction", "1", "--hot-share", "1",
                "--page-limit", str(PAGE_LIMIT), "--no-cookies",
            ]  # fmt: skip
        # The tree under test first on the path: a baseline must not import this checkout.
        env = {**os.environ, "BENCH_ID_COUNT": str(args.profiles), "PYTHONPATH": str(root),
               "BENCH_PROBE_OUT": f"{tmp}/probe.json"}  # fmt: skip
        process = subprocess.Popen(
            command, cwd=root, env=env, preexec_fn=pinned(cores.generator),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            process.wait(timeout=args.duration + 60)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        with open(f"{tmp}/run_stats.csv", newline="") as handle:
            total = next(r for r in csv.DictReader(handle) if r["Name"] == "Aggregated")
        samples = json.loads(Path(f"{tmp}/probe.json").read_text(encoding="utf-8"))
    return Run(
        label=label,
        rps=float(total["Requests/s"]),
        requests=int(total["Request Count"]),
        failures=int(total["Failure Count"]),
        cpu_us=steady_cpu_us(samples),
    )


def baseline_tree(ref: str, into: Path) -> Path:
    into.mkdir(parents=True)
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
    parser.add_argument(
        "--baseline", metavar="GIT_REF", action="append", default=[],
        help="also run the locustfile at REF (repeatable)",
    )  # fmt: skip
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
        for ref in args.baseline:
            trees[f"@{ref}"] = baseline_tree(ref, Path(tmp) / ref)
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
