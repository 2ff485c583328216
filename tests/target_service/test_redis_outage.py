"""Redis must never take the service down: fall through to the database, report degraded,
recover on its own when Redis is back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import aclosing
from pathlib import Path

import pytest

from target_service.settings import Settings
from tests.fixtures.redis_server import RedisServer
from tests.target_service.conftest import ApiUnderTest, prepare, running_api

# Generous for a 2-core CI box; an outage without fail-fast settings costs seconds per request.
QUICK_S = 1.0


@pytest.fixture
async def redis_api(redis_clean: RedisServer, tmp_path: Path) -> AsyncIterator[ApiUnderTest]:
    settings = Settings(
        db_url=f"sqlite:///{tmp_path / 'outage.db'}", redis_url=redis_clean.url, rate_limit=None
    )
    await prepare(settings, 20)
    async for running in running_api(settings):
        yield running


async def timed_get(api: ApiUnderTest, path: str) -> tuple[int, float]:
    started = time.perf_counter()
    response = await api.client.get(path)
    return response.status_code, time.perf_counter() - started


async def health(api: ApiUnderTest) -> dict[str, object]:
    response = await api.client.get("/health")
    assert response.status_code == 200
    body: dict[str, object] = response.json()
    return body


async def wait_until_healthy(api: ApiUnderTest, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while (await health(api))["status"] != "healthy":
        assert time.monotonic() < deadline, "cache never recovered"
        await asyncio.sleep(0.1)


def cache_errors(api: ApiUnderTest) -> float:
    registry = api.service.metrics.registry
    return registry.get_sample_value("loadcap_cache_errors_total") or 0.0


async def test_redis_stopped_requests_still_succeed_quickly_and_health_degrades(
    redis_api: ApiUnderTest, redis_clean: RedisServer
) -> None:
    assert (await health(redis_api))["status"] == "healthy"
    redis_clean.stop()
    for path in ("/api/profile/1", "/api/profile/2", "/api/profiles?limit=5"):
        status, seconds = await timed_get(redis_api, path)
        assert status == 200 and seconds < QUICK_S, (path, status, seconds)
    patched = await redis_api.client.patch("/api/profile/1", json={"bio": "during outage"})
    assert patched.status_code == 200
    body = await health(redis_api)
    assert body["status"] == "degraded"
    assert body["checks"]["cache"]["ok"] is False  # type: ignore[index]
    assert body["checks"]["database"]["ok"] is True  # type: ignore[index]
    assert cache_errors(redis_api) >= 1

    redis_clean.start()
    await wait_until_healthy(redis_api)
    assert (await redis_api.client.get("/api/profile/1")).json()["bio"] == "during outage"
    hits_before = redis_api.service.metrics.registry.get_sample_value(
        "loadcap_cache_requests_total", {"kind": "profile", "result": "hit"}
    )
    await redis_api.client.get("/api/profile/1")
    hits_after = redis_api.service.metrics.registry.get_sample_value(
        "loadcap_cache_requests_total", {"kind": "profile", "result": "hit"}
    )
    assert hits_after == (hits_before or 0) + 1  # the cache is used again


async def test_frozen_redis_costs_a_timeout_not_a_hang(
    redis_api: ApiUnderTest, redis_clean: RedisServer
) -> None:
    await redis_api.client.get("/api/profile/3")
    redis_clean.pause()
    try:
        timings = [await timed_get(redis_api, f"/api/profile/{n}") for n in (3, 4, 5)]
    finally:
        redis_clean.resume()
    assert all(status == 200 and seconds < QUICK_S for status, seconds in timings), timings
    await wait_until_healthy(redis_api)


async def test_a_write_whose_invalidation_was_lost_is_not_served_stale_after_recovery(
    redis_api: ApiUnderTest, redis_clean: RedisServer
) -> None:
    # Redis stays up but this instance cannot reach it during the write: its cached copy
    # survives, so recovery must retire it (the epoch bump).
    await redis_api.client.get("/api/profile/6")  # cached
    redis_clean.pause()
    try:
        await redis_api.client.get("/api/profile/7")  # trips the circuit
        patched = await redis_api.client.patch("/api/profile/6", json={"bio": "fresh"})
        assert patched.status_code == 200
    finally:
        redis_clean.resume()
    await wait_until_healthy(redis_api)
    assert (await redis_api.client.get("/api/profile/6")).json()["bio"] == "fresh"


async def test_frozen_redis_under_the_shared_rate_limit_costs_milliseconds(
    redis_clean: RedisServer, tmp_path: Path
) -> None:
    # The limiter asks Redis before every request: it must fail open as fast as the cache.
    settings = Settings(
        db_url=f"sqlite:///{tmp_path / 'limited.db'}",
        redis_url=redis_clean.url,
        rate_limit="1000/minute",
    )
    await prepare(settings, 5)
    async with aclosing(running_api(settings)) as running:
        api = await anext(running)
        await api.client.get("/api/profile/1")
        redis_clean.pause()
        try:
            started = time.perf_counter()
            statuses = [(await api.client.get(f"/api/profile/{n % 5 + 1}")).status_code
                        for n in range(20)]  # fmt: skip
            elapsed = time.perf_counter() - started
            body = await health(api)
        finally:
            redis_clean.resume()
        assert statuses == [200] * 20
        # Two 50 ms timeouts (limiter, cache), then both skip Redis for a second: 20 requests
        # cost well under a second, where waiting on Redis would cost seconds or hang.
        assert elapsed < 2.0, elapsed
        assert body["status"] == "degraded"
        assert body["checks"]["rate_limiter"]["ok"] is False  # type: ignore[index]
