"""Two `loadcap serve` instances on one MariaDB without Redis: a PATCH on one is what the other
serves next, for stateless clients and cookie clients alike.

Each instance once cached in its own memory and never heard of the other's writes: 50 of 50
reads on B were stale a second after a PATCH on A. Now a mysql:// database without Redis is
not cached unless the operator states there is one instance (LOADCAP_SINGLE_INSTANCE).
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from target_service.app import Service
from target_service.process import ServiceProcess
from target_service.settings import Settings
from tests.fixtures.mariadb_server import MariaDBServer

pytestmark = pytest.mark.servers  # starts the service, Locust or a browser

READS = 50
PROFILE_ID = 7


@pytest.fixture
def two_instances(mariadb_db: MariaDBServer) -> Iterator[tuple[ServiceProcess, ServiceProcess]]:
    settings = Settings(db_url=mariadb_db.url, rate_limit=None)
    with ServiceProcess(settings, profiles=100) as first, ServiceProcess(settings) as second:
        yield first, second


def test_a_patch_on_one_instance_is_what_the_other_serves_next(
    two_instances: tuple[ServiceProcess, ServiceProcess],
) -> None:
    a, b = two_instances
    path = f"/api/profile/{PROFILE_ID}"
    stale = 0
    with httpx.Client(base_url=b.base_url, timeout=5) as reader:
        for round_ in range(READS):
            reader.get(path).raise_for_status()  # warms B's cache, if it had one
            bio = f"written on A, round {round_}"
            with httpx.Client(base_url=a.base_url, timeout=5) as writer:
                writer.patch(path, json={"bio": bio}).raise_for_status()
            reader.cookies.clear()  # a stateless client: no read-your-writes cookie
            stale += reader.get(path).json()["bio"] != bio
    print(f"stale reads across two instances without Redis: {stale} of {READS}")
    assert stale == 0, f"{stale} of {READS} reads on B missed the PATCH just acknowledged by A"


def test_a_shared_mariadb_without_redis_is_cached_only_when_declared_single() -> None:
    # Building a Service does no I/O: nothing listens on this URL.
    shared = Settings(db_url="mysql://root@127.0.0.1:9/loadcap", rate_limit=None)
    assert Service(shared).settings.profile_ttl_s == 0
    assert Service(shared).settings.list_ttl_s == 0
    single = shared.with_changes(single_instance=True)
    assert Service(single).settings.profile_ttl_s == single.profile_ttl_s > 0
    embedded = Settings(db_url="sqlite:///:memory:", rate_limit=None)
    assert Service(embedded).settings.profile_ttl_s == embedded.profile_ttl_s > 0
    assert Settings.from_env({"LOADCAP_SINGLE_INSTANCE": "1"}).single_instance
    assert not Settings.from_env({"LOADCAP_SINGLE_INSTANCE": "off"}).single_instance
