"""The shared datastores of a local fleet, started together: a MariaDB master with GTID
replicas and a Redis, each on a free loopback port, all removed when the block ends."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from pipeline.local_servers.loopback import require_binary
from pipeline.local_servers.mariadb import MariaDBCluster, initialise_datadir, servers
from pipeline.local_servers.redis_server import RedisServer


@dataclass(frozen=True)
class LocalDatastores:
    cluster: MariaDBCluster
    redis: RedisServer


@contextmanager
def local_datastores(work: Path, *, replicas: int = 1) -> Iterator[LocalDatastores]:
    """A master with `replicas` GTID replicas and a Redis under `work` for the block."""
    redis = RedisServer(require_binary("redis-server"), _fresh(work / "redis"))
    template = work / "template"
    try:
        initialise_datadir(template)
    except RuntimeError:  # seen once on a shared /tmp: a clash of temporary table names
        shutil.rmtree(template, ignore_errors=True)
        initialise_datadir(template)
    names = ("master", *(f"replica{index}" for index in range(replicas)))
    cluster = MariaDBCluster(*servers(template, _fresh(work / "mariadb"), names, first_id=31))
    with ExitStack() as stack:
        stack.callback(redis.stop)
        redis.start()
        stack.callback(cluster.stop)
        cluster.start()
        yield LocalDatastores(cluster, redis)


def _fresh(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path
