#!/usr/bin/env python3
"""One benchmark run: the framework's ceiling, the service on both topologies, the load
generator's own cost and report generation, side by side (see docs/benchmarks.md).

    scripts/bench [--quick] [--duration 15] [--connections 64] [--profiles 10000]
                  [--json FILE] [--py-spy DIR]

Starts everything it needs on free loopback ports (a throwaway MariaDB master + GTID replica
and Redis from pipeline/local_servers, the service through `ServiceProcess`), pins the server under
test to one core and the load generator (and the datastores) to the other when the machine
has two or more, and prints one table:

  (a) ceiling    bare Starlette on the service's uvicorn settings (scripts/bench_ceiling.py)
  (b) production the service on MariaDB master + replica + Redis
  (c) embedded   the service on SQLite + the in-process cache
      each under uvicorn (the service's server) and granian (a Rust HTTP server, for
      comparison; `--servers`), each with wrk (scripts/bench_mix.lua: 80/10/5/5, ids and
      pages uniform over the seeded profiles, rate limit off, cache warmed first) and with
      loadtests/locustfile.py;
  (d) the locustfile's req/s against the trivial endpoint (the ceiling app) ÷ a bare
      FastHttpUser sending the same four requests (scripts/bench_bare_user.py);
  (e) `loadcap report` on a one-hour full-history run, whole CLI process wall time.

Ratios are to the uvicorn ceiling (the row of record, comparable with every earlier run).
`--quick` (CI) uses short runs and 1,000 profiles: it proves the command works and asserts
nothing about speed. Absolute figures drift on a shared machine: compare ratios of one run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.local_servers.datastores import local_datastores  # noqa: E402
from pipeline.local_servers.loopback import (  # noqa: E402
    MissingServerBinary,
    free_port,
    wait_for_port,
)
from pipeline.local_servers.mariadb import MariaDBCluster  # noqa: E402
from pipeline.local_servers.redis_server import RedisServer  # noqa: E402
from scripts.bench_service import run_scenario  # noqa: E402
from target_service.process import ServiceProcess  # noqa: E402
from target_service.server import APP_FACTORY, prepare_database  # noqa: E402
from target_service.settings import Settings  # noqa: E402

PAGE_LIMIT = 20
MIX = os.environ.get("BENCH_MIX", "80,10,5,5")  # list, get, create, patch (diagnosis only)
LOADCAP = str(Path(sys.executable).with_name("loadcap"))
PY_SPY = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
# The service's 50 ms fail-fast Redis timeout trips on mere scheduling delays on a shared
# two-core machine, and each trip sends a second of traffic past the cache: the benchmark
# measures the steady state, so it gives Redis longer (outages are tested, not benchmarked).
REDIS_TIMEOUT_S = 0.5
SERVERS = ("uvicorn", "granian")
RECORD_SERVER = "uvicorn"  # the ceiling every ratio divides by, as in every earlier run
GOALS = {"b/a": 0.50, "c/a": 0.60, "b p99 ms": 25.0, "d": 0.90, "e s": 3.0}


@dataclass
class Row:
    case: str
    tool: str
    rps: float
    seconds: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    non_2xx: int
    errors: int
    ratio: float | None = None
    hit_ratio: float | None = None  # the service's cache hits ÷ lookups during the run
    cpu_us: float | None = None  # server process CPU per request (robust to a busy machine)
    server: str = RECORD_SERVER
    # The server's CPU seconds per second of the run: well under 1 (one core) means something
    # other than the server limited req/s (the generator, the neighbours), so compare CPU/req.
    busy: float | None = None


# --- cores -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cores:
    server: set[int] | None
    generator: set[int] | None

    @classmethod
    def split(cls) -> Cores:
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) < 2:
            return cls(None, None)
        return cls({cpus[0]}, set(cpus[1:]))

    def describe(self) -> str:
        if self.server is None:
            return "one core: server and generator share it (no pinning)"
        rest = sorted(self.generator or ())
        return f"server on core {sorted(self.server)}, generator and datastores on {rest}"


def pin_process(pid: int, cpus: set[int] | None) -> None:
    """Every thread of `pid` (sched_setaffinity on a pid moves only its main thread)."""
    if cpus is None:
        return
    for task in Path(f"/proc/{pid}/task").iterdir():
        with suppress(ProcessLookupError, PermissionError):
            os.sched_setaffinity(int(task.name), cpus)


def pinned(cpus: set[int] | None) -> Callable[[], None] | None:
    """A preexec_fn that pins the child (and all it starts) before it execs."""
    if cpus is None:
        return None
    return lambda: os.sched_setaffinity(0, cpus)


# --- servers ---------------------------------------------------------------------------------


def granian_command(app: str, port: int, *, factory: bool = False) -> list[str]:
    """granian serving `app` as the service's uvicorn does: one worker, uvloop, HTTP/1 only,
    no access log. Its Rust runtime threads and the worker process count as the server."""
    return [
        sys.executable, "-m", "granian", "--interface", "asgi", *(["--factory"] if factory else []),
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1", "--loop", "uvloop",
        "--http", "1", "--no-ws", "--log-level", "warning", "--no-access-log", app,
    ]  # fmt: skip


@contextmanager
def ceiling_server(cores: Cores, server: str) -> Iterator[tuple[str, int]]:
    port = free_port()
    command = [
        sys.executable, "-m", "uvicorn", "scripts.bench_ceiling:app",
        "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
        "--loop", "uvloop", "--http", "httptools", "--no-access-log",
        "--no-server-header", "--no-proxy-headers",
    ]  # fmt: skip
    if server == "granian":
        command = granian_command("scripts.bench_ceiling:app", port)
    process = subprocess.Popen(command, cwd=ROOT, preexec_fn=pinned(cores.server))
    try:
        wait_for_port(port)
        yield f"http://127.0.0.1:{port}", process.pid
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextmanager
def service(
    settings: Settings, profiles: int, cores: Cores, server: str
) -> Iterator[tuple[str, int]]:
    """(base URL, pid) of the service; the pid's process tree is the server."""
    if server == "granian":
        with granian_service(settings, profiles, cores) as running:
            yield running
        return
    with ServiceProcess(settings, profiles=profiles, startup_timeout_s=180) as svc:
        assert svc.pid is not None
        pin_process(svc.pid, cores.server)
        yield svc.base_url, svc.pid


@contextmanager
def granian_service(settings: Settings, profiles: int, cores: Cores) -> Iterator[tuple[str, int]]:
    """The service's app factory under granian, on the database `ServiceProcess` would use
    (schema and seed prepared here, as `target_service.server` does before uvicorn)."""
    prepare_database(settings, profiles=profiles, only_if_empty=True)
    port = free_port()
    env = {**os.environ, **settings.to_env()}
    with tempfile.NamedTemporaryFile(prefix="loadcap-bench-granian-", suffix=".log") as log:
        process = subprocess.Popen(
            granian_command(APP_FACTORY, port, factory=True), cwd=ROOT, env=env,
            stdout=log, stderr=subprocess.STDOUT, preexec_fn=pinned(cores.server),
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(url, process, Path(log.name))
            yield url, process.pid
        finally:
            process.terminate()
            process.wait(timeout=15)


def wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    import httpx

    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited during start-up:\n{log.read_text()[-4000:]}")
        with suppress(httpx.TransportError):
            if httpx.get(url + "/health", timeout=2).status_code in (200, 503):
                return
        time.sleep(0.05)
    raise RuntimeError(f"no /health from {url} after 180 s:\n{log.read_text()[-4000:]}")


@contextmanager
def datastores(work: Path) -> Iterator[tuple[MariaDBCluster, RedisServer]]:
    """A MariaDB master + GTID replica and a Redis, all throwaway (pipeline/local_servers)."""
    try:
        with local_datastores(work) as stores:
            yield stores.cluster, stores.redis
    except MissingServerBinary as exc:
        sys.exit(f"bench: {exc}")


# --- load generators -------------------------------------------------------------------------


def warm(url: str, profiles: int) -> None:
    """Every profile and every list page once, so measured reads start from a warm cache."""
    pages = -(-profiles // PAGE_LIMIT)
    paths = [f"/api/profile/{n}" for n in range(1, profiles + 1)]
    paths += [f"/api/profiles?page={n}&limit={PAGE_LIMIT}" for n in range(1, pages + 1)]
    for _ in range(2):  # the second pass fills what a busy machine made the first one miss
        walk = iter(paths)
        next_path = lambda: next(walk, "/health")  # noqa: B023, E731
        asyncio.run(run_scenario(url, next_path, len(paths), 16, max_seconds=120))


def run_wrk(url: str, seconds: float, connections: int, profiles: int, cores: Cores) -> Row:
    command = [
        "wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "2s",
        "-s", str(ROOT / "scripts" / "bench_mix.lua"), url,
        "--", str(profiles), str(PAGE_LIMIT), uuid.uuid4().hex[:8], MIX,
    ]  # fmt: skip
    done = subprocess.run(
        command, capture_output=True, text=True, preexec_fn=pinned(cores.generator), check=True
    )
    match = re.search(r"^BENCH_JSON (.*)$", done.stdout, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"wrk printed no summary:\n{done.stdout}\n{done.stderr}")
    facts = json.loads(match.group(1))
    seconds_run = facts["duration_us"] / 1e6
    errors = sum(facts[k] for k in ("connect_errors", "read_errors", "write_errors", "timeouts"))
    return Row(
        case="", tool="wrk", rps=facts["requests"] / seconds_run, seconds=seconds_run,
        p50_ms=facts["p50_us"] / 1000, p95_ms=facts["p95_us"] / 1000,
        p99_ms=facts["p99_us"] / 1000, non_2xx=facts["status_errors"], errors=errors,
    )  # fmt: skip


def run_locust(
    url: str, seconds: float, users: int, profiles: int, cores: Cores, *, bare: bool = False
) -> Row:
    """One Locust process, headless; req/s and percentiles from its Aggregated CSV row."""
    with tempfile.TemporaryDirectory(prefix="loadcap-bench-locust-") as tmp:
        locustfile = "scripts/bench_bare_user.py" if bare else "loadtests/locustfile.py"
        command = [
            sys.executable, "-m", "locust", "-f", locustfile, "--headless", "--only-summary",
            "-u", str(users), "-r", str(users), "-t", f"{max(1, round(seconds))}s",
            "--host", url, "--csv", f"{tmp}/run", "--loglevel", "ERROR",
        ]  # fmt: skip
        if not bare:
            command += [
                "--id-count", str(profiles), "--hot-fraction", "1", "--hot-share", "1",
                "--page-limit", str(PAGE_LIMIT), "--no-cookies",
            ]  # fmt: skip
        env = {**os.environ, "BENCH_ID_COUNT": str(profiles)}
        subprocess.run(
            command, cwd=ROOT, env=env, preexec_fn=pinned(cores.generator),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
        )  # fmt: skip
        with open(f"{tmp}/run_stats.csv", newline="") as handle:
            import csv

            rows = list(csv.DictReader(handle))
    total = next(r for r in rows if r["Name"] == "Aggregated")
    failures = int(total["Failure Count"])
    return Row(
        case="", tool="locust", rps=float(total["Requests/s"]), seconds=seconds,
        p50_ms=float(total["50%"]), p95_ms=float(total["95%"]), p99_ms=float(total["99%"]),
        non_2xx=failures, errors=0,
    )  # fmt: skip


def report_wall_time(repeat: int) -> float:
    """Median wall time of `loadcap report` on a synthetic one-hour run (a fresh process)."""
    from tests.reports.recorded import PLAIN, RUNS
    from tests.reports.synthetic_run import write_synthetic_run

    timings = []
    with tempfile.TemporaryDirectory(prefix="loadcap-bench-report-") as tmp:
        run_dir = write_synthetic_run(Path(tmp) / "run", RUNS / PLAIN, seconds=3600)
        for _ in range(repeat):
            started = time.perf_counter()
            subprocess.run([LOADCAP, "report", str(run_dir)], check=True, stdout=subprocess.DEVNULL)
            timings.append(time.perf_counter() - started)
    return statistics.median(timings)


# --- the run ---------------------------------------------------------------------------------


def cache_counts(url: str) -> tuple[float, float]:
    """(hits, lookups) so far, from the service's /metrics."""
    import httpx

    text = httpx.get(url + "/metrics", timeout=10).text
    hits = lookups = 0.0
    for line in text.splitlines():
        if line.startswith("loadcap_cache_requests_total{"):
            value = float(line.rsplit(" ", 1)[1])
            lookups += value
            hits += value if 'result="hit"' in line else 0.0
    return hits, lookups


def cpu_seconds(pid: int) -> float:
    """CPU of `pid` and its live descendants (granian serves from a worker process)."""
    import psutil

    root = psutil.Process(pid)
    total = 0.0
    for process in [root, *root.children(recursive=True)]:
        with suppress(psutil.NoSuchProcess):
            times = process.cpu_times()
            total += times.user + times.system
    return total


def observed(url: str, pid: int, measure: Callable[[], Row], *, cache: bool = True) -> Row:
    """`measure()`, plus the server's CPU per request and (cache=True) its cache hit ratio."""
    hits0, lookups0 = cache_counts(url) if cache else (0.0, 0.0)
    cpu0 = cpu_seconds(pid)
    row = measure()
    cpu1 = cpu_seconds(pid)
    if cache:
        hits1, lookups1 = cache_counts(url)
        row.hit_ratio = (hits1 - hits0) / (lookups1 - lookups0) if lookups1 > lookups0 else None
    requests = row.rps * row.seconds
    row.cpu_us = (cpu1 - cpu0) / requests * 1e6 if requests else None
    row.busy = (cpu1 - cpu0) / row.seconds if row.seconds else None
    return row


def measure_service(
    case: str,
    url: str,
    args: argparse.Namespace,
    cores: Cores,
    py_spy: Path | None,
    pid: int,
    server: str,
) -> list[Row]:
    rows = []
    warm(url, args.profiles)
    recorder = None
    if py_spy is not None:
        py_spy.mkdir(parents=True, exist_ok=True)
        suffix = "" if server == RECORD_SERVER else f"-{server}"
        out = py_spy / f"{case[1]}{suffix}.txt"
        recorder = subprocess.Popen(
            [PY_SPY, "record", "-p", str(pid), "-o", str(out), "--format", "raw",
             "-d", str(round(args.duration)), "-r", "200", "--nonblocking", "--subprocesses"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=pinned(cores.generator),
        )  # fmt: skip
    n, profiles = args.connections, args.profiles
    rows.append(observed(url, pid, lambda: run_wrk(url, args.duration, n, profiles, cores)))
    if recorder is not None:
        recorder.wait(timeout=60)
    if not args.wrk_only:
        warm(url, args.profiles)
        rows.append(observed(url, pid, lambda: run_locust(url, args.duration, n, profiles, cores)))
    for row in rows:
        row.case = case
        row.server = server
    return rows


def measure_ceiling(
    url: str, pid: int, args: argparse.Namespace, cores: Cores, server: str
) -> list[Row]:
    n, profiles = args.connections, args.profiles
    rows = [
        observed(url, pid, lambda: run_wrk(url, args.duration, n, profiles, cores), cache=False)
    ]
    if not args.wrk_only:
        rows.append(
            observed(
                url, pid, lambda: run_locust(url, args.duration, n, profiles, cores), cache=False
            )
        )
    for row in rows:
        row.case = "(a) ceiling: bare Starlette"
        row.server = server
    return rows


def measure_topology(
    case: str,
    settings: Settings,
    args: argparse.Namespace,
    cores: Cores,
    *,
    once_up: Callable[[], None] | None = None,
) -> list[Row]:
    """Start the service on `settings` (with the run's --set overrides) under each server of
    the run in turn, and measure it."""
    rows = []
    for server in args.servers:
        with service(settings.with_changes(**args.overrides), args.profiles, cores, server) as (
            url,
            pid,
        ):
            if once_up is not None:
                once_up()
            rows += measure_service(case, url, args, cores, args.py_spy, pid, server)
    return rows


def run(args: argparse.Namespace) -> dict[str, object]:
    cores = Cores.split()
    if cores.generator is not None:
        # Children inherit the affinity: the datastores run beside the generator, not on the
        # server's core; each server is moved to its own core once started.
        os.sched_setaffinity(0, cores.generator)
    print(f"bench: {cores.describe()}; {args.connections} connections, {args.duration:g} s "
          f"per run, {args.profiles:,} profiles", flush=True)  # fmt: skip
    rows: list[Row] = []
    extra: dict[str, object] = {}
    cases = set(args.cases)
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="loadcap-bench-")))
        a_rows: list[Row] = []
        for server in args.servers:
            with ceiling_server(cores, server) as (url, pid):
                a_rows += measure_ceiling(url, pid, args, cores, server)
        rows += a_rows
        ceiling, _ = stack.enter_context(ceiling_server(cores, RECORD_SERVER))
        if "d" in cases:
            users = args.connections
            mine = run_locust(ceiling, args.duration, users, args.profiles, cores)
            bare = run_locust(ceiling, args.duration, users, args.profiles, cores, bare=True)
            extra["d"] = {"locustfile_rps": mine.rps, "bare_rps": bare.rps,
                          "ratio": mine.rps / bare.rps if bare.rps else None}  # fmt: skip
        if "b" in cases:
            pair, redis = stack.enter_context(datastores(work / "stores"))
            settings = Settings(
                db_url=pair.master_url, replica_urls=pair.replica_urls, redis_url=redis.url,
                rate_limit=None, log_level="warning", redis_timeout_s=REDIS_TIMEOUT_S,
            )  # fmt: skip
            rows += measure_topology(
                "(b) MariaDB + replica + Redis", settings, args, cores,
                once_up=lambda: pair.wait_synced(timeout=60),
            )  # fmt: skip
        if "c" in cases:
            settings = Settings(
                db_url=f"sqlite:///{work}/embedded.db", rate_limit=None, log_level="warning"
            )
            rows += measure_topology("(c) SQLite + in-process cache", settings, args, cores)
    if "e" in cases:
        extra["e_s"] = report_wall_time(1 if args.quick else 3)
    ceilings = {row.tool: row.rps for row in a_rows if row.server == RECORD_SERVER}
    for row in rows:
        row.ratio = row.rps / ceilings[row.tool] if ceilings.get(row.tool) else None
    return {"cores": cores.describe(), "rows": [asdict(r) for r in rows], **extra}


def show(result: dict[str, object]) -> None:
    rows = [Row(**r) for r in result["rows"]]  # type: ignore[attr-defined]
    ceiling_cpu = {
        r.tool: r.cpu_us for r in rows if r.case.startswith("(a)") and r.server == RECORD_SERVER
    }
    print()
    print(f"| {'case':<32} | {'server':<7} | {'tool':<6} | {'req/s':>8} | {'p50 ms':>7} "
          f"| {'p95 ms':>7} | {'p99 ms':>7} | {'non-2xx':>7} | {'÷ ceiling':>9} "
          f"| {'cache hits':>10} | {'CPU µs/req':>10} | {'÷ ceiling CPU':>13} "
          f"| {'server cores':>12} |")  # fmt: skip
    print(f"|{'-' * 34}|{'-' * 9}|{'-' * 8}|{'-' * 9}:|{'-' * 8}:|{'-' * 8}:|{'-' * 8}:|{'-' * 8}:|"
          f"{'-' * 10}:|{'-' * 11}:|{'-' * 11}:|{'-' * 14}:|{'-' * 13}:|")  # fmt: skip
    for r in rows:
        ratio = f"{r.ratio:.2f}" if r.ratio is not None else "-"
        bad = f"{r.non_2xx}" + (f" (+{r.errors} err)" if r.errors else "")
        hits = f"{r.hit_ratio:.0%}" if r.hit_ratio is not None else "-"
        cpu = f"{r.cpu_us:,.0f}" if r.cpu_us is not None else "-"
        base = ceiling_cpu.get(r.tool)
        cpu_ratio = f"{base / r.cpu_us:.2f}" if base and r.cpu_us else "-"
        busy = f"{r.busy:.2f}" if r.busy is not None else "-"
        print(f"| {r.case:<32} | {r.server:<7} | {r.tool:<6} | {r.rps:>8,.0f} | {r.p50_ms:>7.1f} | "
              f"{r.p95_ms:>7.1f} | {r.p99_ms:>7.1f} | {bad:>7} | {ratio:>9} "
              f"| {hits:>10} | {cpu:>10} | {cpu_ratio:>13} | {busy:>12} |")  # fmt: skip
    d = result.get("d")
    if isinstance(d, dict):
        print(f"\n(d) locustfile {d['locustfile_rps']:,.0f} req/s ÷ bare FastHttpUser "
              f"{d['bare_rps']:,.0f} req/s = {d['ratio']:.2f}  (goal ≥ {GOALS['d']})")  # fmt: skip
    if "e_s" in result:
        print(f"(e) loadcap report, one-hour run: {result['e_s']:.2f} s  (goal ≤ {GOALS['e s']} s)")
    wrk = {r.case[:3]: r for r in rows if r.tool == "wrk" and r.server == RECORD_SERVER}
    if "(b)" in wrk and wrk["(b)"].ratio is not None:
        print(f"(b)/(a) wrk {wrk['(b)'].ratio:.2f} (goal ≥ {GOALS['b/a']}), p99 "
              f"{wrk['(b)'].p99_ms:.1f} ms (goal ≤ {GOALS['b p99 ms']:g} ms)")  # fmt: skip
    if "(c)" in wrk and wrk["(c)"].ratio is not None:
        print(f"(c)/(a) wrk {wrk['(c)'].ratio:.2f} (goal ≥ {GOALS['c/a']})")
    by_server = {(r.case[:3], r.tool, r.server): r for r in rows}
    for (case, tool, server), r in by_server.items():
        same = by_server.get((case, tool, RECORD_SERVER))
        if server != RECORD_SERVER and same is not None and same.cpu_us and r.cpu_us:
            print(f"{case} {tool}: {server} CPU per request ÷ {RECORD_SERVER}'s "
                  f"{r.cpu_us / same.cpu_us:.2f}, req/s ratio {r.rps / same.rps:.2f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="CI: short runs, few profiles")
    parser.add_argument("--duration", type=float, help="seconds per measured run (default 15)")
    parser.add_argument("--connections", type=int, default=64, help="wrk connections, users")
    parser.add_argument("--profiles", type=int, help="seeded profiles (default 10,000)")
    parser.add_argument("--cases", default="b,c,d,e", help="which of b,c,d,e (a always runs)")
    parser.add_argument("--wrk-only", action="store_true", help="skip the Locust rows")
    parser.add_argument(
        "--servers", default=",".join(SERVERS), help=f"HTTP servers, of {','.join(SERVERS)}"
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--py-spy", type=Path, help="record a py-spy profile of each service")
    parser.add_argument(
        "--set", action="append", default=[], metavar="NAME=VALUE",
        help="a service setting for (b) and (c), e.g. local_cache_entries=0 (before/after runs)",
    )  # fmt: skip
    args = parser.parse_args()
    args.duration = args.duration or (2.0 if args.quick else 15.0)
    args.profiles = args.profiles or (1_000 if args.quick else 10_000)
    args.cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    pairs = dict(item.partition("=")[::2] for item in args.set)
    parsed = Settings.from_env({f"LOADCAP_{name.upper()}": value for name, value in pairs.items()})
    args.overrides = {name: getattr(parsed, name) for name in pairs}
    args.servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    if unknown := set(args.servers) - set(SERVERS):
        parser.error(f"unknown servers {sorted(unknown)}: choose from {','.join(SERVERS)}")
    if RECORD_SERVER not in args.servers:
        parser.error(f"--servers must include {RECORD_SERVER}: its ceiling is the row of record")
    if unknown := set(args.cases) - {"b", "c", "d", "e"}:
        parser.error(f"unknown cases {sorted(unknown)}: choose from b,c,d,e")
    if shutil.which("wrk") is None:
        sys.exit("bench: wrk is not installed (scripts/bench installs it with apt-get as root)")
    if args.py_spy is not None and not Path(PY_SPY).exists():
        sys.exit("bench: --py-spy needs py-spy (pip install py-spy)")
    started = time.monotonic()
    result = run(args)
    result["wall_s"] = round(time.monotonic() - started, 1)
    show(result)
    print(f"\nbench: done in {result['wall_s']} s")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
