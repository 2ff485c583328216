#!/usr/bin/env python3
"""Soak: does resident memory stay flat over a long run at a fixed arrival rate?

Starts the reference service (`ServiceProcess`: seeded SQLite and the in-process cache, or
`--db`/`--redis`), then runs loadcap's own locustfile and plugin through the `loadcap run`
engine (`run_load_test`, open model `--rps`, the 80/10/5/5 mix) against it, service and
Locust pinned to CPUs of their own. Every `--interval` seconds it reads the resident memory
(VmRSS and RssAnon from /proc/PID/status) of the Locust master, of its workers if any, and of
the service process tree, with the run's live req/s and p95 (the plugin's progress file).

At the end it writes `soak.csv` (one row per sample) and `soak.json` (the samples, the growth
and the verdict) into `--out`, and prints the memory growth of each process from minute 5 to
the end (and to minute 30 on longer runs); the goal is under 10 %. A run shorter than 30
minutes starts its window at the same fraction of the run (a sixth: 10 s of a 60 s run), and
says so. Growth is measured between single samples: the first at or after each mark.

    .venv/bin/python scripts/bench_soak.py                    # 30 minutes at 150 req/s
    .venv/bin/python scripts/bench_soak.py --duration 60s     # quick check of the script
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import os
import signal
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from loadtests.progress import Progress
from pipeline.cpu_split import pinned, split_cpus
from pipeline.runner import RunOutcome, RunSettings, run_load_test
from rundir.units import format_duration, parse_duration
from target_service.process import ServiceProcess

GOAL_GROWTH = 0.10
FULL_RUN_S = 30 * 60.0
BASELINE_S = 5 * 60.0  # of a FULL_RUN_S run: the warm-up left out of the window
ROLES = ("locust_master", "locust_workers", "service")
JOIN_GRACE_S = 120.0  # beyond the duration: the runner's own start and stop graces


@dataclass(frozen=True)
class ProcessMemory:
    pid: int
    rss_kb: int
    rss_anon_kb: int


@dataclass
class Sample:
    elapsed_s: float  # since Locust's test started
    processes: dict[str, list[ProcessMemory]] = field(default_factory=dict)
    requests: int = 0
    failures: int = 0
    rps_now: float = 0.0
    p95_now_ms: float | None = None

    def rss_kb(self, role: str) -> int:
        return sum(p.rss_kb for p in self.processes.get(role, []))

    def rss_anon_kb(self, role: str) -> int:
        return sum(p.rss_anon_kb for p in self.processes.get(role, []))


def _status(pid: int) -> dict[str, str]:
    fields: dict[str, str] = {}
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:  # the process has just ended
        return fields
    for line in text.splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return fields


def _kb(fields: dict[str, str], key: str) -> int:
    value = fields.get(key, "0 kB").split()
    return int(value[0]) if value else 0


def memory_of(pid: int) -> ProcessMemory | None:
    fields = _status(pid)
    if not fields:
        return None
    return ProcessMemory(pid, _kb(fields, "VmRSS"), _kb(fields, "RssAnon"))


def children_of(pid: int) -> list[int]:
    """Direct children, from each thread's /proc/PID/task/TID/children."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def descendants_of(pid: int) -> list[int]:
    found, pending = [], children_of(pid)
    while pending:
        child = pending.pop()
        found.append(child)
        pending += children_of(child)
    return found


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def locust_pids(service_pid: int) -> tuple[int | None, list[int]]:
    """The Locust master (our child running `-m locust`; taskset execs into it) and its
    workers (`--processes N` forks them from the master)."""
    for child in children_of(os.getpid()):
        if child != service_pid and "-m locust" in cmdline(child):
            return child, descendants_of(child)
    return None, []


def take_sample(elapsed_s: float, service_pid: int, progress: Progress | None) -> Sample:
    master, workers = locust_pids(service_pid)
    pids = {
        "locust_master": [master] if master is not None else [],
        "locust_workers": workers,
        "service": [service_pid, *descendants_of(service_pid)],
    }
    sample = Sample(elapsed_s=elapsed_s)
    for role, role_pids in pids.items():
        sample.processes[role] = [m for m in map(memory_of, role_pids) if m is not None]
    if progress is not None:
        sample.requests, sample.failures = progress.requests, progress.failures
        sample.rps_now, sample.p95_now_ms = progress.rps, progress.p95_ms
    return sample


@dataclass(frozen=True)
class Growth:
    role: str
    start_s: float
    end_s: float
    start_kb: int
    end_kb: int

    @property
    def ratio(self) -> float | None:
        return (self.end_kb - self.start_kb) / self.start_kb if self.start_kb else None

    def line(self) -> str:
        ratio = self.ratio
        shown = "-" if ratio is None else f"{ratio:+.1%}"
        verdict = "" if ratio is None else ("ok" if ratio < GOAL_GROWTH else "OVER GOAL")
        start, end = format_duration(self.start_s), format_duration(self.end_s)
        return (
            f"  {self.role:<15} {self.start_kb / 1024:8.1f} MiB at {start:>6}"
            f" -> {self.end_kb / 1024:8.1f} MiB at {end:>6}"
            f"  {shown:>7}  {verdict}"
        )


def at_or_after(samples: list[Sample], at_s: float) -> Sample:
    """The first sample taken at `at_s` or later (the last one if none was)."""
    return next((s for s in samples if s.elapsed_s >= at_s - 1.0), samples[-1])


def growths(samples: list[Sample], start_s: float, end_s: float) -> list[Growth]:
    first, last = at_or_after(samples, start_s), at_or_after(samples, end_s)
    return [
        Growth(role, first.elapsed_s, last.elapsed_s, first.rss_kb(role), last.rss_kb(role))
        for role in ROLES
        if first.processes.get(role) and last.processes.get(role)
    ]


def print_steps(samples: list[Sample], start_s: float, count: int = 3) -> None:
    """The largest rises between two samples inside the window, with the p95 of that moment:
    a rise during a latency spike is the high-water mark of a backlog (more requests in
    flight at once), a steady creep between spikes is something kept."""
    inside = [s for s in samples if s.elapsed_s >= start_s - 1.0]
    for role in ROLES:
        if not any(s.processes.get(role) for s in inside):
            continue
        rises = sorted(
            ((b.rss_kb(role) - a.rss_kb(role), b) for a, b in itertools.pairwise(inside)),
            key=lambda rise: -rise[0],
        )[:count]
        shown = ", ".join(
            f"+{kb / 1024:.1f} MiB at {format_duration(round(b.elapsed_s))} "
            f"(p95 {'-' if b.p95_now_ms is None else f'{b.p95_now_ms:.0f}'} ms)"
            for kb, b in rises
            if kb > 0
        )
        print(f"  largest rises, {role}: {shown or 'none'}")


class LatestProgress:
    """The runner's progress callback; the sampler reads the last value it was given."""

    def __init__(self) -> None:
        self.value: Progress | None = None

    def __call__(self, progress: Progress) -> None:
        self.value = progress


def soak(args: argparse.Namespace, out: Path) -> tuple[list[Sample], RunOutcome | None]:
    split = split_cpus()
    service = ServiceProcess(profiles=args.profiles, command_prefix=pinned([], split.service))
    if args.db:
        service.settings = service.settings.with_changes(db_url=args.db)
    if args.redis:
        service.settings = service.settings.with_changes(redis_url=args.redis)
    settings = RunSettings(
        out_dir=out / "run", host=service.base_url, rps=args.rps, duration_s=args.duration,
        processes=args.processes, cpu_split=split,
        id_count=None if args.db else args.profiles,  # None: learned from the target
    )  # fmt: skip
    progress = LatestProgress()
    outcome: list[RunOutcome] = []
    samples: list[Sample] = []
    with service:
        assert service.pid is not None
        runner = threading.Thread(
            target=lambda: outcome.append(run_load_test(settings, on_progress=progress)),
            name="soak-run",
            daemon=True,
        )
        runner.start()
        deadline = time.monotonic() + args.duration + JOIN_GRACE_S
        try:
            while progress.value is None or progress.value.load_started_at is None:
                if not runner.is_alive() or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            started_at = (
                progress.value.load_started_at if progress.value is not None else None
            ) or time.time()
            tick = 0
            while runner.is_alive() and time.monotonic() < deadline:
                due = started_at + tick * args.interval
                time.sleep(max(0.0, due - time.time()))
                if not runner.is_alive():
                    break
                sample = take_sample(time.time() - started_at, service.pid, progress.value)
                samples.append(sample)
                if tick == 0:
                    _print_processes(sample)
                tick += 1
                print(_sample_line(sample), flush=True)
        except KeyboardInterrupt:
            master, _ = locust_pids(service.pid)
            if master is not None:
                os.kill(master, signal.SIGINT)  # Locust writes its reports and exits
        runner.join(timeout=max(0.0, deadline - time.monotonic()) + 30.0)
    return samples, outcome[0] if outcome else None


def _print_processes(sample: Sample) -> None:
    for role in ROLES:
        for memory in sample.processes.get(role, []):
            print(f"  {role} pid {memory.pid}: {cmdline(memory.pid)[:110]}", flush=True)


def _sample_line(sample: Sample) -> str:
    mib = "  ".join(f"{role} {sample.rss_kb(role) / 1024:7.1f}" for role in ROLES)
    p95 = "-" if sample.p95_now_ms is None else f"{sample.p95_now_ms:.0f}"
    return (
        f"{sample.elapsed_s:7.0f}s  RSS MiB: {mib}  |  {sample.rps_now:6.1f} req/s  p95 {p95} ms"
        f"  requests {sample.requests} failures {sample.failures}"
    )


def plot_memory(ax: Axes, samples: list[Sample], *, window_start_s: float) -> Axes:
    """RSS of each process (MiB) over the run's minutes, the growth window shaded."""
    minutes = [s.elapsed_s / 60 for s in samples]
    for role in ROLES:
        if any(s.processes.get(role) for s in samples):
            ax.plot(minutes, [s.rss_kb(role) / 1024 for s in samples], label=role)
    ax.axvspan(window_start_s / 60, minutes[-1], alpha=0.08, color="grey")
    ax.set_xlabel("minutes since the load started")
    ax.set_ylabel("resident memory (MiB)")
    ax.set_ylim(bottom=0)
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    return ax


def write_chart(samples: list[Sample], window_start_s: float, path: Path) -> None:
    figure = Figure(figsize=(8, 3.6), layout="constrained")
    plot_memory(figure.add_subplot(), samples, window_start_s=window_start_s)
    figure.savefig(path, dpi=100)


def samples_from_json(document: dict[str, Any]) -> list[Sample]:
    """`soak.json`'s samples back as `Sample`s (for --replot)."""
    samples = []
    for raw in document["samples"]:
        processes = {
            role: [ProcessMemory(**memory) for memory in memories]
            for role, memories in raw["processes"].items()
        }
        samples.append(Sample(**{**raw, "processes": processes}))
    return samples


def write_samples(samples: list[Sample], out: Path) -> None:
    with (out / "soak.csv").open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(
            ["elapsed_s", *(f"{r}_rss_kb" for r in ROLES), *(f"{r}_rss_anon_kb" for r in ROLES),
             "requests", "failures", "rps_now", "p95_now_ms", "pids"]
        )  # fmt: skip
        for s in samples:
            pids = ";".join(f"{r}:{p.pid}" for r in ROLES for p in s.processes.get(r, []))
            writer.writerow(
                [f"{s.elapsed_s:.1f}", *(s.rss_kb(r) for r in ROLES),
                 *(s.rss_anon_kb(r) for r in ROLES), s.requests, s.failures, s.rps_now,
                 s.p95_now_ms, pids]
            )  # fmt: skip


def report(args: argparse.Namespace, out: Path, samples: list[Sample], outcome: Any) -> int:
    if len(samples) < 2:
        print("too few samples to measure growth; see the run directory", out / "run")
        return 1
    scale = min(1.0, args.duration / FULL_RUN_S)
    start_s = BASELINE_S * scale
    last_s = samples[-1].elapsed_s
    windows = {"to_end": growths(samples, start_s, last_s)}
    if last_s > FULL_RUN_S + args.interval:
        windows["to_30m"] = growths(samples, start_s, FULL_RUN_S)
    load1, load5, load15 = os.getloadavg()
    last = samples[-1]
    achieved = last.requests / last.elapsed_s if last.elapsed_s else 0.0
    print()
    if scale < 1.0:
        print(
            f"short run ({format_duration(args.duration)}): the window starts at "
            f"{format_duration(start_s)}, the same sixth of the run as minute 5 of 30"
        )
    for name, rows in windows.items():
        print(f"RSS growth from {format_duration(start_s)} {name.replace('_', ' ')}:")
        for row in rows:
            print(row.line())
    print_steps(samples, start_s)
    all_rows = [g for rows in windows.values() for g in rows]
    passed = all(g.ratio is not None and g.ratio < GOAL_GROWTH for g in all_rows)
    print(f"verdict: {'PASS' if passed else 'FAIL'} (goal: every process grows < 10 %)")
    print(
        f"load: {args.rps:g} req/s asked, {achieved:.1f} achieved "
        f"({last.requests} requests, {last.failures} failures by the last sample); "
        f"load average now {load1:.2f} {load5:.2f} {load15:.2f}"
    )
    if outcome is not None:
        print(f"run: exit {outcome.exit_code}, {outcome.message}")
    document = {
        "settings": {
            "rps": args.rps, "duration_s": args.duration, "interval_s": args.interval,
            "processes": args.processes, "db": args.db, "redis": args.redis,
            "profiles": args.profiles, "window_start_s": start_s, "window_scale": scale,
        },
        "growth": {
            name: [{**asdict(g), "ratio": g.ratio} for g in rows] for name, rows in windows.items()
        },
        "verdict": "pass" if passed else "fail",
        "achieved_rps": achieved,
        "load_average_at_end": [load1, load5, load15],
        "run_exit_code": None if outcome is None else outcome.exit_code,
        "samples": [asdict(s) for s in samples],
    }  # fmt: skip
    write_samples(samples, out)
    (out / "soak.json").write_text(json.dumps(document, indent=1))
    write_chart(samples, start_s, out / "soak.png")
    print(f"samples: {out / 'soak.csv'}, {out / 'soak.json'}, chart {out / 'soak.png'}")
    print(f"run directory: {out / 'run'}")
    return 0 if passed else 1


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--duration", type=parse_duration, default=FULL_RUN_S,
        help="run length, e.g. 30m, 90s (default 30m); under 30m the window scales",
    )  # fmt: skip
    parser.add_argument(
        "--rps", type=float, default=150.0,
        help="fixed arrival rate, req/s (default 150: well under one core's capacity)",
    )  # fmt: skip
    parser.add_argument(
        "--interval", type=parse_duration, default=10.0,
        help="seconds between memory samples (default 10s)",
    )  # fmt: skip
    parser.add_argument(
        "--processes", type=int, default=1, help="Locust processes (default 1: no workers)"
    )
    parser.add_argument(
        "--profiles", type=int, default=1000, help="profiles seeded into an empty database"
    )
    parser.add_argument("--db", help="database URL (default: a fresh SQLite file)")
    parser.add_argument("--redis", help="Redis URL (default: the in-process cache)")
    parser.add_argument(
        "--out", type=Path, help="where soak.csv, soak.json and the run go (default: a temp dir)"
    )
    parser.add_argument(
        "--replot", type=Path, metavar="DIR",
        help="only redraw DIR/soak.png from DIR/soak.json (an earlier soak), then exit",
    )  # fmt: skip
    args = parser.parse_args()
    if args.replot:
        document = json.loads((args.replot / "soak.json").read_text())
        start_s = float(document["settings"]["window_start_s"])
        write_chart(samples_from_json(document), start_s, args.replot / "soak.png")
        print(args.replot / "soak.png")
        return 0
    if args.interval <= 0 or args.duration < 2 * args.interval:
        parser.error("--duration must cover at least two --interval samples")
    out = args.out or Path(tempfile.mkdtemp(prefix="loadcap-soak-"))
    out.mkdir(parents=True, exist_ok=True)
    print(
        f"soak: {args.rps:g} req/s for {format_duration(args.duration)}, a sample every "
        f"{format_duration(args.interval)}; load average {os.getloadavg()[0]:.2f}; out {out}",
        flush=True,
    )
    samples, outcome = soak(args, out)
    return report(args, out, samples, outcome)


if __name__ == "__main__":
    sys.exit(main())
