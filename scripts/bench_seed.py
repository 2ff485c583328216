#!/usr/bin/env python3
"""Benchmark: how long `loadcap db seed` takes for N profiles on each backend.

Starts a throwaway MariaDB (its own datadir and free loopback port, durable InnoDB settings
as a production server would have) unless `--mysql-url` names one, seeds it through
MySQLProfileStore, then does the same on a temporary SQLite file through the SQLite store,
and prints the figures side by side. Both runs use `target_service.seed.seed_profiles`, the
loop behind `loadcap db seed`.

    .venv/bin/python scripts/bench_seed.py [--profiles 100000] [--mysql-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.local_servers.mariadb import MariaDBServer, initialise_datadir
from target_service.backends import build_store
from target_service.metrics import ServiceMetrics
from target_service.seed import SeedResult, seed_profiles
from target_service.settings import Settings

# Override the test fixture's speed-over-durability flags: measure what production would see.
DURABLE = [
    "--innodb-flush-log-at-trx-commit=1",
    "--sync-binlog=1",
    "--innodb-doublewrite=1",
    "--innodb-buffer-pool-size=256M",
]


async def seed(db_url: str, profiles: int) -> SeedResult:
    settings = Settings().with_changes(db_url=db_url)
    store = build_store(settings, ServiceMetrics())
    await store.open()
    try:
        await store.init_schema()
        return await seed_profiles(store, profiles)
    finally:
        await store.close()


def throwaway_mariadb(workdir: Path) -> MariaDBServer:
    if not (shutil.which("mariadbd") or Path("/usr/sbin/mariadbd").exists()):
        raise SystemExit("bench_seed: mariadbd is not installed (scripts/bootstrap --system)")
    template = workdir / "template"
    initialise_datadir(template)
    (workdir / "server").mkdir()
    server = MariaDBServer(name="bench", template=template, workdir=workdir / "server", server_id=1)
    server.extra_args = DURABLE
    server.start()
    return server


def report(name: str, result: SeedResult) -> None:
    print(
        f"{name:<8} {result.profiles:>9,} profiles in {result.seconds:6.2f} s "
        f"({result.rate:,.0f} profiles/s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--profiles", type=int, default=100_000)
    parser.add_argument("--mysql-url", help="seed this server instead of a throwaway one")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="loadcap-bench-") as tmp:
        workdir = Path(tmp)
        server = None if args.mysql_url else throwaway_mariadb(workdir)
        try:
            mysql_url = args.mysql_url or (server.url if server else "")
            report("mariadb", asyncio.run(seed(mysql_url, args.profiles)))
        finally:
            if server is not None:
                server.stop()
        report("sqlite", asyncio.run(seed(f"sqlite:///{workdir / 'bench.db'}", args.profiles)))


if __name__ == "__main__":
    main()
