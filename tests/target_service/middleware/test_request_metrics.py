"""RequestMetricsMiddleware on a tiny app: a count and a latency per method, route template
and status, answers given before routing under their route, non-HTTP scopes untouched."""

from __future__ import annotations

import pytest
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from target_service.metrics import ServiceMetrics
from target_service.middleware.request_metrics import RequestMetricsMiddleware
from tests.target_service.middleware.tiny_app import assert_passes_through, client_for, echo_body


async def item(request: Request) -> PlainTextResponse:
    return PlainTextResponse("item")


ROUTES = (Route("/items/{id}", item, methods=["GET", "POST"]),)


def count(metrics: ServiceMetrics, method: str, route: str, status: int) -> float | None:
    labels = {"method": method, "route": route, "status": str(status)}
    return metrics.registry.get_sample_value("loadcap_http_requests_total", labels)


def latencies(metrics: ServiceMetrics, method: str, route: str) -> float | None:
    labels = {"method": method, "route": route}
    return metrics.registry.get_sample_value("loadcap_http_request_duration_seconds_count", labels)


async def test_answers_count_under_the_route_template_they_were_for() -> None:
    # The tiny app answers without routing, as the rate limit and body limit do.
    metrics = ServiceMetrics()
    app = RequestMetricsMiddleware(echo_body, metrics, ROUTES)
    async with client_for(app) as client:
        await client.get("/items/1")
        await client.get("/items/2", headers={"x-status": "429"})
        await client.get("/items/3", headers={"x-status": "429"})
        await client.get("/nowhere")
        await client.request("BREW", "/items/4")
    assert count(metrics, "GET", "/items/{id}", 200) == 1
    assert count(metrics, "GET", "/items/{id}", 429) == 2
    assert count(metrics, "GET", "<unmatched>", 200) == 1
    assert count(metrics, "OTHER", "/items/{id}", 200) == 1  # a path-only match
    assert latencies(metrics, "GET", "/items/{id}") == 3


async def test_the_route_the_router_matched_wins() -> None:
    async def routed(scope: Scope, receive: Receive, send: Send) -> None:
        scope["route"] = ROUTES[0]
        await echo_body(scope, receive, send)

    metrics = ServiceMetrics()
    async with client_for(RequestMetricsMiddleware(routed, metrics)) as client:
        await client.get("/anything")
    assert count(metrics, "GET", "/items/{id}", 200) == 1


async def test_an_app_that_raises_counts_as_500_and_the_error_propagates() -> None:
    async def broken(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError("boom")

    metrics = ServiceMetrics()
    async with client_for(RequestMetricsMiddleware(broken, metrics, ROUTES)) as client:
        with pytest.raises(RuntimeError, match="boom"):
            await client.get("/items/1")
    assert count(metrics, "GET", "/items/{id}", 500) == 1


def wrap(app: ASGIApp) -> ASGIApp:
    return RequestMetricsMiddleware(app, ServiceMetrics(), ROUTES)


@pytest.mark.parametrize("scope_type", ["lifespan", "websocket"])
async def test_non_http_scopes_pass_through(scope_type: str) -> None:
    await assert_passes_through(wrap, scope_type)


async def test_non_http_scopes_are_not_counted() -> None:
    metrics = ServiceMetrics()
    await assert_passes_through(
        lambda app: RequestMetricsMiddleware(app, metrics, ROUTES), "websocket"
    )
    assert count(metrics, "POST", "/items/{id}", 500) is None
