"""Read-your-writes: after a write, a client never reads the old value, even from a replica
that has stopped applying changes (MariaDB master + GTID replica + Redis)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from target_service.read_your_writes import COOKIE_NAME, ReadYourWrites
from target_service.settings import Settings
from tests.fixtures.mariadb_server import MariaDBPair
from tests.fixtures.redis_server import RedisServer
from tests.target_service.conftest import ApiUnderTest, client_for, prepare, running_api


@pytest.fixture
async def replicated_api(
    mariadb_pair: MariaDBPair, redis_clean: RedisServer
) -> AsyncIterator[ApiUnderTest]:
    settings = Settings(
        db_url=mariadb_pair.master_url,
        replica_urls=(mariadb_pair.replica_url,),
        redis_url=redis_clean.url,
        rate_limit=None,
        read_your_writes_s=30,
    )
    await prepare(settings, 10)
    mariadb_pair.wait_synced()
    async for running in running_api(settings):
        yield running


def rw_fallbacks(api: ApiUnderTest) -> float:
    value = api.service.metrics.registry.get_sample_value(
        "loadcap_replica_fallbacks_total", {"reason": "read_your_writes"}
    )
    return value or 0.0


async def test_patch_then_get_never_shows_the_old_value_with_replication_paused(
    replicated_api: ApiUnderTest, mariadb_pair: MariaDBPair
) -> None:
    client = replicated_api.client
    assert (await client.get("/api/profile/3")).json()["bio"] != "new"  # cached from replica
    await client.get("/api/profiles", params={"limit": 5})
    mariadb_pair.pause_replication()
    try:
        patched = await client.patch("/api/profile/3", json={"bio": "new"})
        assert patched.status_code == 200
        assert f"{COOKIE_NAME}=" in patched.headers["set-cookie"]
        assert (await client.get("/api/profile/3")).json()["bio"] == "new"
        page = (await client.get("/api/profiles", params={"limit": 5})).json()
        assert page["items"][2]["bio"] == "new"
        created = await client.post("/api/profiles", json={"name": "N", "email": "n@example.com"})
        assert (await client.get(created.headers["location"])).status_code == 200

        # The cookie alone routes this client's uncached reads to the primary; a client
        # that did not write reads the replica.
        before = rw_fallbacks(replicated_api)
        await client.get("/api/profile/9")
        assert rw_fallbacks(replicated_api) == before + 1
        async with client_for(replicated_api.app, "192.0.2.99") as stranger:
            await stranger.get("/api/profile/8")
        assert rw_fallbacks(replicated_api) == before + 1
    finally:
        mariadb_pair.resume_replication()


async def test_writes_set_a_short_http_only_cookie(sqlite_api: ApiUnderTest) -> None:
    response = await sqlite_api.client.patch("/api/profile/1", json={"bio": "x"})
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE_NAME}=")
    window = int(sqlite_api.settings.read_your_writes_s)
    assert f"Max-Age={window}" in cookie and "HttpOnly" in cookie and "Path=/" in cookie
    assert "set-cookie" not in (await sqlite_api.client.get("/api/profile/1")).headers


def test_only_a_recent_well_formed_cookie_counts() -> None:
    from starlette.requests import Request

    rw = ReadYourWrites(5.0)

    def with_cookie(value: str) -> Request:
        header = f"{COOKIE_NAME}={value}".encode()
        return Request({"type": "http", "headers": [(b"cookie", header)]})

    now_ms = time.time_ns() // 1_000_000
    assert rw.wrote_recently(with_cookie(str(now_ms - 1_000)))
    assert not rw.wrote_recently(with_cookie(str(now_ms - 6_000)))
    assert not rw.wrote_recently(with_cookie(str(now_ms + 60_000)))
    assert not rw.wrote_recently(with_cookie("soon"))
    assert not rw.wrote_recently(Request({"type": "http", "headers": []}))
