"""Read-your-writes through a fleet: two instances behind the real nginx of compose/nginx.conf
on a MariaDB master and a replica 2 s behind (MASTER_DELAY), every setting at its default.

A client PATCHes its profile and reads it straight back, keeping its cookies as a browser
does; nginx sends the two requests to whichever instance it picks. With the signing key
random per process (the old default), 40 of 40 such reads returned the old value; the key
is now kept in the shared database, so every instance verifies every instance's positions.
The negative control gives each instance a secret of its own and must see stale reads.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest

from target_service.settings import Settings
from tests.fixtures.fleet import Fleet, FleetFactory
from tests.fixtures.mariadb_server import MariaDBPair
from tests.fixtures.redis_server import RedisServer

CYCLES = 40
LAG_S = 2
PROFILES = 50

pytestmark = pytest.mark.timeout(120)


@dataclass(frozen=True)
class Cycles:
    reads: int
    stale: int
    instances: int  # distinct instances that answered
    crossed: int  # reads nginx sent to another instance than the PATCH before them


def patch_then_get(running: Fleet, *, cycles: int = CYCLES) -> Cycles:
    """`cycles` PATCH-then-GET rounds by one cookie-keeping client through nginx."""
    stale = 0
    with httpx.Client(base_url=running.base_url, timeout=10) as client:
        for cycle in range(cycles):
            path = f"/api/profile/{cycle % PROFILES + 1}"
            bio = f"written in cycle {cycle}"
            client.patch(path, json={"bio": bio}).raise_for_status()
            read = client.get(path)
            read.raise_for_status()
            stale += read.json()["bio"] != bio
    used = running.nginx.upstreams_used()[-2 * cycles :]
    patches, gets = used[0::2], used[1::2]
    crossed = sum(p != g for p, g in zip(patches, gets, strict=True))
    return Cycles(cycles, stale, len(set(used)), crossed)


def fleet_settings(pair: MariaDBPair, redis: RedisServer | None, **changes: str) -> Settings:
    """Every default (rate limit, cache TTLs, read-your-writes mode and key) but where the
    servers are."""
    return Settings(
        db_url=pair.master_url,
        replica_urls=(pair.replica_url,),
        redis_url=redis.url if redis is not None else None,
        **changes,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("with_redis", [False, True], ids=["no-redis", "redis"])
def test_a_client_reads_its_own_write_through_a_fleet_with_default_settings(
    fleet: FleetFactory, mariadb_pair: MariaDBPair, redis_clean: RedisServer, with_redis: bool
) -> None:
    settings = fleet_settings(mariadb_pair, redis_clean if with_redis else None)
    assert settings.read_your_writes_secret == ""
    running = fleet([settings, settings], profiles=PROFILES)
    mariadb_pair.wait_synced()
    mariadb_pair.set_delay(LAG_S)
    result = patch_then_get(running)
    print(
        f"fleet of 2 behind nginx, replica {LAG_S} s behind, default settings, "
        f"{'Redis' if with_redis else 'no Redis'}: {result.stale} stale of {result.reads} "
        f"reads after the client's own PATCH ({result.crossed} read on the other instance)"
    )
    assert result.instances == 2 and result.crossed >= CYCLES // 4, result
    assert result.stale == 0, result


def test_instances_with_different_secrets_serve_stale_reads(
    fleet: FleetFactory, mariadb_pair: MariaDBPair
) -> None:
    # The negative control: what the old per-process random key did to a fleet.
    running = fleet(
        [
            fleet_settings(mariadb_pair, None, read_your_writes_secret="instance-a"),
            fleet_settings(mariadb_pair, None, read_your_writes_secret="instance-b"),
        ],
        profiles=PROFILES,
    )
    mariadb_pair.wait_synced()
    mariadb_pair.set_delay(LAG_S)
    result = patch_then_get(running)
    print(
        f"control, a secret per instance: {result.stale} stale of {result.reads} "
        f"({result.crossed} read on the other instance)"
    )
    assert result.crossed >= CYCLES // 4, result
    assert result.stale >= result.crossed // 2, result
