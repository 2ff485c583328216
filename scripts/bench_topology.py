"""The seed's topology on one machine: `loadcap demo` against a throwaway MariaDB master +
three GTID replicas and Redis, side by side with the embedded default (SQLite + in-process
cache).

    .venv/bin/python scripts/bench_topology.py [--duration 60s] [--out runs/topology]
                                               [--skip-embedded]

Prints, for each topology, the measured capacity at the SLO, p95/p99, the cache hit ratio,
where the database queries went and the share of database reads the replicas served. The
production topology runs with read-your-writes by time window (the replica share before
causal reads) and by GTID (after), with browser-like clients that keep the cookie, and with
stateless API clients. Everything it starts is on loopback ports and removed at the end.
Absolute figures drift on shared machines: compare the lines of one run.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


from pipeline.demo import DemoSettings, run_demo  # noqa: E402
from pipeline.local_servers.loopback import free_port, wait_for_port  # noqa: E402
from pipeline.local_servers.mariadb import (  # noqa: E402
    CLUSTER_NAMES,
    MariaDBCluster,
    initialise_datadir,
    servers,
)
from rundir.summary_json import SummaryServer  # noqa: E402
from rundir.units import parse_duration  # noqa: E402
from target_service.settings import Settings  # noqa: E402


def demo(
    out: Path, duration_s: float, service: Settings | None, *, cookies: bool = True
) -> dict[str, object]:
    settings = DemoSettings(out_dir=out, duration_s=duration_s, service=service, cookies=cookies)
    result = run_demo(settings)
    summary, plan = result.summary, result.plan.right_sized
    totals, server = summary.totals, summary.server or SummaryServer()
    exact = totals.hdr or None
    return {
        "capacity_rps": summary.capacity_rps or None,
        "rps": totals.rps,
        "p95_ms": exact.p95_ms if exact else totals.p95_ms,
        "p99_ms": exact.p99_ms if exact else totals.p99_ms,
        "errors": totals.failures,
        "cache_hit_ratio": server.cache_hit_ratio,
        "queries": server.queries,
        "replica_read_share": server.replica_read_share,
        "replica_query_ms": server.replica_query_ms,
        "replica_fallbacks": server.replica_fallbacks,
        "instances_for_1000": plan.instances,
        "replicas_planned": plan.database.replicas,
        "monthly_usd": round(plan.cost.monthly_total_usd, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", default="60s")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "topology")
    parser.add_argument("--skip-embedded", action="store_true")
    args = parser.parse_args()
    duration_s = parse_duration(args.duration)
    work = Path(tempfile.mkdtemp(prefix="loadcap-topology-"))
    template = work / "template"
    initialise_datadir(template)
    cluster = MariaDBCluster(*servers(template, work, CLUSTER_NAMES, first_id=21))
    redis_port = free_port()
    redis = subprocess.Popen(
        ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(work)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    results: dict[str, dict[str, object]] = {}
    try:
        wait_for_port(redis_port)
        cluster.start()

        def production(mode: str) -> Settings:
            return Settings.from_env(
                {},
                db_url=cluster.master_url,
                replica_urls=cluster.replica_urls,
                redis_url=f"redis://127.0.0.1:{redis_port}/0",
                rate_limit="off",
                read_your_writes_mode=mode,
            )

        if not args.skip_embedded:
            results["embedded (SQLite + in-process cache)"] = demo(
                args.out / "embedded", duration_s, None
            )
        prod = "MariaDB master + 3 replicas, Redis"
        runs = [
            (f"{prod}, read-your-writes by time window", "window", True),
            (f"{prod}, read-your-writes by GTID", "gtid", True),
            (f"{prod}, by time window, stateless clients", "window", False),
            (f"{prod}, by GTID, stateless clients", "gtid", False),
        ]
        for name, mode, cookies in runs:
            out = args.out / f"mariadb-3-replicas-{mode}{'' if cookies else '-stateless'}"
            results[name] = demo(out, duration_s, production(mode), cookies=cookies)
    finally:
        redis.terminate()
        redis.wait(timeout=10)
        cluster.stop()
        shutil.rmtree(work, ignore_errors=True)
    for name, facts in results.items():
        print(f"{name}:")
        for key, value in facts.items():
            print(f"  {key:20} {value}")
    for clients, before, after in (
        ("cookie-keeping clients", runs[0][0], runs[1][0]),
        ("stateless clients", runs[2][0], runs[3][0]),
    ):
        print(
            f"replica share of database reads, {clients}: "
            f"{_share(results[before])} by time window -> {_share(results[after])} by GTID"
        )


def _share(facts: dict[str, object]) -> str:
    share = facts.get("replica_read_share")
    return f"{share:.1%}" if isinstance(share, float) else "n/a"


if __name__ == "__main__":
    main()
