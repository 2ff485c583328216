"""Read-your-writes: after a write, a client never reads the old value, even from a replica
that has stopped applying changes (MariaDB master + GTID replica + Redis)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
from starlette.requests import Request

from target_service.gtid import GtidPosition
from target_service.read_your_writes import COOKIE_NAME, HEADER_NAME, ReadYourWrites
from target_service.settings import Settings
from tests.fixtures.mariadb_server import MariaDBPair
from tests.fixtures.redis_server import RedisServer
from tests.target_service.conftest import ApiUnderTest, client_for, prepare, running_api


@pytest.fixture(params=["gtid", "window"])
async def replicated_api(
    request: pytest.FixtureRequest, mariadb_pair: MariaDBPair, redis_clean: RedisServer
) -> AsyncIterator[ApiUnderTest]:
    settings = Settings(
        db_url=mariadb_pair.master_url,
        replica_urls=(mariadb_pair.replica_url,),
        redis_url=redis_clean.url,
        rate_limit=None,
        read_your_writes_s=30,
        read_your_writes_mode=request.param,
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


def request_with(cookie: str | None = None, header: str | None = None) -> Request:
    headers: list[tuple[bytes, bytes]] = []
    if cookie is not None:
        headers.append((b"cookie", f"{COOKIE_NAME}={cookie}".encode()))
    if header is not None:
        headers.append((HEADER_NAME.encode(), header.encode()))
    return Request({"type": "http", "headers": headers})


def test_a_signed_position_round_trips_through_cookie_and_header() -> None:
    rw = ReadYourWrites(5.0, mode="gtid", secret="shared")
    written = GtidPosition.parse("0-11-42,1-11-7")
    assert written is not None
    headers = rw.headers(written)
    token = headers[HEADER_NAME]
    assert headers["set-cookie"].startswith(f"{COOKIE_NAME}={token};")
    assert "," not in token  # cookie values cannot hold commas
    assert rw.position(request_with(cookie=token)) == written
    assert rw.position(request_with(header=token)) == written
    # Another instance with the same secret honours it; one with another secret does not.
    assert (
        ReadYourWrites(5.0, mode="gtid", secret="shared").position(request_with(token)) == written
    )
    assert ReadYourWrites(5.0, mode="gtid", secret="other").position(request_with(token)) is None


def test_a_forged_position_is_ignored() -> None:
    rw = ReadYourWrites(5.0, mode="gtid", secret="shared")
    token = rw.token(GtidPosition.parse("0-11-42") or GtidPosition())
    text, _, signature = token.partition("~")
    assert rw.position(request_with(f"0-11-999999~{signature}")) is None
    assert rw.position(request_with(f"{text}~{'0' * 32}")) is None
    assert rw.position(request_with(text)) is None


@pytest.mark.parametrize(
    "value",
    [
        "9" * 5000,
        "1" * 16,
        "²³",
        "0-11-" + "9" * 5000 + "~" + "a" * 32,
        "~" * 3000,
        "0-1-2_" * 400 + "~" + "a" * 32,
        "\u00e9t\u00e9",
        "",
    ],
)
def test_garbage_cookies_and_headers_are_ignored(value: str) -> None:
    for mode in ("gtid", "window"):
        rw = ReadYourWrites(5.0, mode=mode, secret="s")
        assert not rw.wrote_recently(request_with(cookie=value))
        assert rw.position(request_with(cookie=value)) is None
        assert rw.position(request_with(header=value.encode("utf-8").decode("latin-1"))) is None


async def test_garbage_read_your_writes_values_never_break_a_read(sqlite_api: ApiUnderTest) -> None:
    client = sqlite_api.client
    for value in ("9" * 5000, "²", "0-1-" + "9" * 5000 + "~" + "a" * 32, "x~y~z"):
        raw = value.encode()
        choices: tuple[dict[bytes, bytes], ...] = (
            {b"cookie": b"loadcap_rw=" + raw},
            {HEADER_NAME.encode(): raw},
        )
        for headers in choices:
            assert (await client.get("/api/profile/1", headers=headers)).status_code == 200
            assert (await client.get("/api/profiles", headers=headers)).status_code == 200


def test_settings_choose_the_mode_and_leave_the_key_to_the_database_by_default() -> None:
    from target_service.settings import SettingsError

    default = Settings.from_env({})
    assert default.read_your_writes_mode == "gtid"
    # Empty: every instance reads the key kept in the shared database (test_signing_key.py).
    assert default.read_your_writes_secret == ""
    assert Settings.from_env(default.to_env()) == default
    given = Settings.from_env(
        {"LOADCAP_READ_YOUR_WRITES_SECRET": "s3", "LOADCAP_READ_YOUR_WRITES_MODE": "window"}
    )
    assert (given.read_your_writes_secret, given.read_your_writes_mode) == ("s3", "window")
    assert "s3" not in repr(given)
    # Workers receive the parent's settings through the environment: the same secret.
    assert Settings.from_env(given.to_env()) == given
    with pytest.raises(SettingsError, match="READ_YOUR_WRITES_MODE"):
        Settings.from_env({"LOADCAP_READ_YOUR_WRITES_MODE": "time"})


def test_gtid_positions_compare_domain_by_domain() -> None:
    applied = GtidPosition.parse("0-11-42,1-12-7")
    assert applied is not None
    assert applied.covers(GtidPosition.parse("0-11-42") or GtidPosition())
    assert applied.covers(GtidPosition.parse("1-11-3") or GtidPosition())
    assert not applied.covers(GtidPosition.parse("0-11-43") or GtidPosition())
    assert not applied.covers(GtidPosition.parse("2-11-1") or GtidPosition())
    later = applied.merged(GtidPosition.parse("0-11-50,2-11-1") or GtidPosition())
    assert later.format() == "0-11-50,1-12-7,2-11-1"
    for bad in ("", "0-11", "0-11-42,0-11-43", "a-b-c", "0-11-42,", "-1-2-3", "0-1-" + "9" * 21):
        assert GtidPosition.parse(bad) is None, bad


@pytest.mark.parametrize(
    "cookie_header",
    [
        b"loadcap_rw=1700000000000",
        b"a=1; loadcap_rw=0-11-42~abc; b=2",
        b"loadcap_rw=1; loadcap_rw=2",  # the last one wins, as in Starlette
        b'loadcap_rw="1700000000000"',
        b"xloadcap_rw=5",
        b"loadcap_rw=",
        b"  loadcap_rw = 7 ;other",
        "loadcap_rw=\u00e9t\u00e9".encode(),
    ],
)
def test_the_raw_header_scan_reads_the_cookie_as_starlette_does(cookie_header: bytes) -> None:
    from target_service.read_your_writes import _sent

    request = Request({"type": "http", "headers": [(b"cookie", cookie_header)]})
    assert (_sent(request)[1] or None) == (request.cookies.get(COOKIE_NAME) or None)
