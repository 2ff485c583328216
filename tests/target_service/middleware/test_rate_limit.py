"""RateLimitMiddleware on a tiny app: 429 with Retry-After past a client's budget, monitoring
paths exempt, non-HTTP scopes untouched."""

from __future__ import annotations

import pytest
from starlette.types import ASGIApp

from target_service.client_ip import ClientAddress
from target_service.metrics import ServiceMetrics
from target_service.middleware.rate_limit import EXEMPT_PATHS, RateLimitMiddleware
from target_service.rate_limiter import ClientRateLimiter
from tests.target_service.middleware.tiny_app import (
    Wrap,
    assert_passes_through,
    client_for,
    echo_body,
)

LIMIT = 2


@pytest.fixture
async def limiter() -> ClientRateLimiter:
    limiter = ClientRateLimiter(f"{LIMIT}/minute", ServiceMetrics())
    limiter.open()  # in the test's event loop, as the service's lifespan does
    return limiter


def wrapper(limiter: ClientRateLimiter) -> Wrap:
    def wrap(app: ASGIApp) -> ASGIApp:
        return RateLimitMiddleware(app, limiter, ClientAddress(["127.0.0.1"]))

    return wrap


async def test_a_client_past_its_budget_gets_429_with_retry_after(
    limiter: ClientRateLimiter,
) -> None:
    async with client_for(wrapper(limiter)(echo_body)) as client:
        statuses = [(await client.get("/items/1")).status_code for _ in range(LIMIT + 1)]
        refused = await client.get("/items/1")
    assert statuses == [200] * LIMIT + [429]
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.json()["error"]["code"] == "rate_limited"
    assert int(refused.headers["content-length"]) == len(refused.content)
    async with client_for(wrapper(limiter)(echo_body), client_ip="192.0.2.2") as other:
        assert (await other.get("/items/1")).status_code == 200  # a budget per client


@pytest.mark.parametrize("path", sorted(EXEMPT_PATHS))
async def test_monitoring_paths_are_never_limited(limiter: ClientRateLimiter, path: str) -> None:
    async with client_for(wrapper(limiter)(echo_body)) as client:
        statuses = {(await client.get(path)).status_code for _ in range(LIMIT + 3)}
    assert statuses == {200}


@pytest.mark.parametrize("scope_type", ["lifespan", "websocket"])
async def test_non_http_scopes_pass_through(limiter: ClientRateLimiter, scope_type: str) -> None:
    for _ in range(LIMIT):  # spend the budget of the client the scope names
        await limiter.allow("192.0.2.1")
    assert await limiter.allow("192.0.2.1") is not None
    await assert_passes_through(wrapper(limiter), scope_type)
