#!/usr/bin/env python3
"""How many req/s can one Locust process generate with loadtests/locustfile.py?

Runs the locustfile headless, single process (one core), side by side against:
  1. the embedded reference service (seeded SQLite), and
  2. a trivial endpoint: a tiny uvicorn app that answers the four routes with fixed, valid
     bodies, so the client side is the bottleneck.
Prints req/s, p50/p95 and failures for each, and the ratio. The machine is shared, so
compare the figures of one invocation, not across invocations.

    .venv/bin/python scripts/bench_locust.py [--duration 15s] [--users 50]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.local_servers.loopback import free_port, wait_for_port
from pipeline.runner import RunSettings, run_load_test
from reports.load import load_stats
from rundir.hdr_json import read_hdr
from rundir.units import parse_duration
from tests.loadtests.profiles_double import PROFILE

PAGE = {"items": [PROFILE], "page": 1, "limit": 20, "has_more": True}
Send = Callable[[dict[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[dict[str, Any]]]


async def trivial_app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    """Fixed answers: the cheapest server that still passes the locustfile's checks."""
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    path, method = scope["path"], scope["method"]
    status, body = (201, PROFILE) if method == "POST" else (200, PAGE)
    if path.startswith("/api/profile/"):
        status, body = 200, PROFILE
    data = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


@contextmanager
def trivial_server() -> Iterator[str]:
    port = free_port()
    command = [
        sys.executable, "-m", "uvicorn", "scripts.bench_locust:trivial_app",
        "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
        "--loop", "uvloop", "--http", "httptools", "--no-access-log",
    ]  # fmt: skip
    root = Path(__file__).resolve().parent.parent
    process = subprocess.Popen(command, cwd=root, start_new_session=True)
    try:
        wait_for_port(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)


def measure(label: str, host: str | None, duration_s: float, users: int) -> dict[str, Any]:
    out = Path(tempfile.mkdtemp(prefix=f"bench-{label}-"))
    settings = RunSettings(
        out_dir=out, host=host, users=users, spawn_rate=users, duration_s=duration_s
    )
    started = time.monotonic()
    outcome = run_load_test(settings)
    hdr = read_hdr(out / "hdr.json").endpoints["Aggregated"]
    stats = load_stats(out)  # Locust's CSV by column name, whatever the version
    total = stats[stats["endpoint"] == "Aggregated"].iloc[0]
    return {
        "target": label,
        "req_s": float(total["rps"]),
        "requests": int(total["requests"]),
        "failures": int(total["failures"]),
        "p50_ms": hdr.p50_ms,
        "p95_ms": hdr.p95_ms,
        "exit_code": outcome.exit_code,
        "wall_s": round(time.monotonic() - started, 1),
        "run_dir": str(out),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", default="15s")
    parser.add_argument("--users", type=int, default=50)
    args = parser.parse_args()
    duration = parse_duration(args.duration)
    results = [measure("embedded-service", None, duration, args.users)]
    with trivial_server() as url:
        results.append(measure("trivial-endpoint", url, duration, args.users))
    print(f"{'target':<18} {'req/s':>9} {'requests':>9} {'fails':>6} {'p50 ms':>8} {'p95 ms':>8}")
    for r in results:
        print(
            f"{r['target']:<18} {r['req_s']:>9.1f} {r['requests']:>9} {r['failures']:>6} "
            f"{r['p50_ms']:>8.2f} {r['p95_ms']:>8.2f}"
        )
    ratio = results[1]["req_s"] / results[0]["req_s"] if results[0]["req_s"] else float("nan")
    print(f"trivial / embedded: {ratio:.2f}x  (one Locust process, {args.users} users)")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
