"""The seed's topology on one machine: `loadcap demo` against a throwaway MariaDB master +
GTID replica and Redis, side by side with the embedded default (SQLite + in-process cache).

    .venv/bin/python scripts/bench_topology.py [--duration 60s] [--out runs/topology]

Prints, for each topology (the production one twice: browser-like clients that keep the
read-your-writes cookie, and stateless API clients that do not), the measured capacity at the
SLO, p95/p99, the cache hit ratio and where the database queries went (master vs replica).
Everything it starts is on loopback ports and removed at the end. Absolute figures drift on
shared machines: compare the lines of one run.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fixtures.mariadb_server import (  # noqa: E402
    MariaDBPair,
    MariaDBServer,
    initialise_datadir,
)
from tests.fixtures.ports import free_port, wait_for_port  # noqa: E402

LOADCAP = str(Path(sys.executable).with_name("loadcap"))


def demo(out: Path, duration: str, *extra: str) -> dict[str, object]:
    command = [LOADCAP, "demo", "--duration", duration, "--out", str(out), *extra]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    plan = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    totals, server = summary["totals"], summary.get("server") or {}
    hdr = totals.get("hdr") or totals
    return {
        "capacity_rps": summary.get("capacity_rps"),
        "rps": totals["rps"],
        "p95_ms": hdr.get("p95_ms"),
        "p99_ms": hdr.get("p99_ms"),
        "errors": totals["failures"],
        "cache_hit_ratio": server.get("cache_hit_ratio"),
        "queries": server.get("queries"),
        "replica_fallbacks": server.get("replica_fallbacks"),
        "instances_for_1000": plan["instances"],
        "monthly_usd": plan["cost"]["monthly_total_usd"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", default="60s")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "topology")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="loadcap-topology-"))
    template = work / "template"
    initialise_datadir(template)
    (work / "master").mkdir()
    (work / "replica").mkdir()
    pair = MariaDBPair(
        MariaDBServer(name="master", template=template, workdir=work / "master", server_id=21),
        MariaDBServer(name="replica", template=template, workdir=work / "replica", server_id=22),
    )
    redis_port = free_port()
    redis = subprocess.Popen(
        ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(work)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for_port(redis_port)
        pair.start()
        servers = [
            "--db", pair.master_url,
            "--replica", pair.replica_url,
            "--redis", f"redis://127.0.0.1:{redis_port}/0",
        ]  # fmt: skip
        results = {
            "embedded (SQLite + in-process cache)": demo(args.out / "embedded", args.duration),
            "MariaDB master + replica, Redis": demo(
                args.out / "mariadb-redis", args.duration, *servers
            ),
            # The same, with clients that keep no cookies: no read-your-writes pinning.
            "MariaDB master + replica, Redis, stateless clients": demo(
                args.out / "mariadb-redis-stateless", args.duration, *servers, "--no-cookies"
            ),
        }
    finally:
        redis.terminate()
        redis.wait(timeout=10)
        pair.stop()
        shutil.rmtree(work, ignore_errors=True)
    for name, facts in results.items():
        print(f"{name}:")
        for key, value in facts.items():
            print(f"  {key:20} {value}")


if __name__ == "__main__":
    main()
