"""Per-client rate limiting: 429 + Retry-After, shared by instances through Redis, client IP
from X-Forwarded-For only behind a trusted proxy, failing open when Redis is down."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from target_service.app import create_app
from target_service.client_ip import ClientAddress
from target_service.metrics import ServiceMetrics
from target_service.process import free_port
from target_service.rate_limiter import ClientRateLimiter
from target_service.redis_cache import fail_fast_pool
from target_service.settings import Settings
from tests.fixtures.redis_server import RedisServer
from tests.target_service.conftest import client_for, prepare

LIMIT = 5


@pytest.fixture
async def db_settings(tmp_path: Path) -> Settings:
    settings = Settings(db_url=f"sqlite:///{tmp_path / 'limits.db'}", rate_limit=f"{LIMIT}/minute")
    await prepare(settings, 3)
    return settings


async def started(app: Starlette) -> AsyncIterator[Starlette]:
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def shared_pair(
    db_settings: Settings, redis_clean: RedisServer
) -> AsyncIterator[tuple[Starlette, Starlette]]:
    settings = db_settings.with_changes(redis_url=redis_clean.url)
    first, second = create_app(settings), create_app(settings)
    async with first.router.lifespan_context(first), second.router.lifespan_context(second):
        yield first, second


async def test_two_instances_on_one_redis_share_the_limit(
    shared_pair: tuple[Starlette, Starlette],
) -> None:
    clients = [client_for(app, "198.51.100.7") for app in shared_pair]
    responses = [await clients[n % 2].get("/api/profiles") for n in range(2 * LIMIT + 2)]
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {200: LIMIT, 429: LIMIT + 2}
    refused = [r for r in responses if r.status_code == 429]
    assert all(1 <= int(r.headers["retry-after"]) <= 60 for r in refused)
    assert refused[0].json()["error"]["code"] == "rate_limited"
    # Another client still has its whole budget.
    async with client_for(shared_pair[1], "198.51.100.8") as other:
        assert (await other.get("/api/profiles")).status_code == 200
    for client in clients:
        await client.aclose()


async def test_in_process_limit_answers_429_and_leaves_health_alone(
    db_settings: Settings,
) -> None:
    # A public address: /metrics must answer it, so it is allowed to read the metrics.
    app = create_app(db_settings.with_changes(metrics_allow=("192.0.2.0/24",)))
    async with app.router.lifespan_context(app), client_for(app, "192.0.2.1") as client:
        statuses = [(await client.get("/api/profile/1")).status_code for _ in range(LIMIT + 1)]
        assert statuses == [200] * LIMIT + [429]
        assert (await client.get("/health")).status_code == 200
        assert (await client.get("/metrics")).status_code == 200
        metrics = (await client.get("/metrics")).text
        assert "loadcap_rate_limited_total 1.0" in metrics


async def test_rate_limit_off_never_limits(db_settings: Settings) -> None:
    app = create_app(db_settings.with_changes(rate_limit=None))
    async with app.router.lifespan_context(app), client_for(app, "192.0.2.2") as client:
        statuses = {(await client.get("/api/profile/1")).status_code for _ in range(3 * LIMIT)}
        assert statuses == {200}


async def test_forwarded_for_is_honoured_only_from_trusted_peers(db_settings: Settings) -> None:
    app = create_app(db_settings.with_changes(trusted_proxies=("10.0.0.0/8",)))
    async with (
        app.router.lifespan_context(app),
        client_for(app, "10.1.2.3") as proxy,
        client_for(app, "203.0.113.9") as stranger,
    ):

        async def via(client: httpx.AsyncClient, forwarded: str) -> int:
            response = await client.get("/api/profiles", headers={"x-forwarded-for": forwarded})
            return response.status_code

        # Behind the trusted proxy each forwarded client has its own budget.
        assert [await via(proxy, "198.51.100.1") for _ in range(LIMIT + 1)][-1] == 429
        assert await via(proxy, "198.51.100.2") == 200
        # An untrusted peer cannot buy fresh budgets by forging the header.
        forged = [await via(stranger, f"198.51.100.{n}") for n in range(10, 11 + LIMIT)]
        assert forged == [200] * LIMIT + [429]


def test_client_address_walks_forwarded_for_from_the_right() -> None:
    resolve = ClientAddress(["127.0.0.1", "10.0.0.0/8", "::1"])

    def scope(peer: str, forwarded: str | None) -> dict[str, object]:
        headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
        return {"client": (peer, 1234), "headers": headers}

    assert resolve(scope("203.0.113.1", "1.2.3.4")) == "203.0.113.1"
    assert resolve(scope("127.0.0.1", None)) == "127.0.0.1"
    assert resolve(scope("127.0.0.1", "1.2.3.4")) == "1.2.3.4"
    assert resolve(scope("127.0.0.1", "6.6.6.6, 1.2.3.4, 10.0.0.2")) == "1.2.3.4"
    assert resolve(scope("::1", "10.0.0.3, 10.0.0.2")) == "10.0.0.3"
    assert resolve(scope("127.0.0.1", "not-an-ip")) == "not-an-ip"


async def test_limiter_fails_open_when_redis_is_down(
    db_settings: Settings, redis_clean: RedisServer
) -> None:
    app = create_app(db_settings.with_changes(redis_url=redis_clean.url))
    async with app.router.lifespan_context(app), client_for(app, "192.0.2.50") as client:
        redis_clean.stop()
        statuses = {(await client.get("/api/profile/1")).status_code for _ in range(LIMIT + 3)}
        assert statuses == {200}
        body = (await client.get("/health")).json()
        assert body["status"] == "degraded"
        assert body["checks"]["rate_limiter"]["ok"] is False


async def test_limiter_storage_failures_count_as_rate_limit_errors_not_cache_errors() -> None:
    metrics = ServiceMetrics()
    url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    pool = fail_fast_pool(url, 0.05)
    limiter = ClientRateLimiter(f"{LIMIT}/minute", metrics, redis_url=url, redis_pool=pool)
    limiter.open()
    try:
        assert await limiter.allow("192.0.2.60") is None  # failing open
        assert not limiter.healthy
        assert await limiter.allow("192.0.2.60") is None  # breaker open: storage not tried
    finally:
        await pool.aclose()
    assert metrics.registry.get_sample_value("loadcap_rate_limit_errors_total") == 1
    assert metrics.registry.get_sample_value("loadcap_cache_errors_total") == 0
