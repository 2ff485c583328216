"""Request count and latency by method, route template and status."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from target_service.metrics import ServiceMetrics

# Paths that match no route share one label, so scanners cannot grow the label set.
UNMATCHED = "<unmatched>"
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class RequestMetricsMiddleware:
    """`routes` name the requests that inner middleware answers before the router runs (429
    from the rate limit, 413 for a declared Content-Length), so they count under their route
    template instead of `<unmatched>`."""

    def __init__(
        self, app: ASGIApp, metrics: ServiceMetrics, routes: Sequence[BaseRoute] = ()
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.routes = tuple(routes)
        # prometheus_client's labels() takes a lock and builds a key each call: keep children.
        self._counters: dict[tuple[str, str, int], Any] = {}
        self._latencies: dict[tuple[str, str], Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            self._record(scope, status, time.perf_counter() - started)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        route = scope.get("route") or self._route_for(scope)
        template = getattr(route, "path", UNMATCHED) if route is not None else UNMATCHED
        method = scope["method"] if scope["method"] in KNOWN_METHODS else "OTHER"
        key = (method, template, status)
        counter = self._counters.get(key)
        if counter is None:
            counter = self._counters[key] = self.metrics.http_requests.labels(
                method, template, str(status)
            )
        counter.inc()
        latency = self._latencies.get(key[:2])
        if latency is None:
            latency = self._latencies[key[:2]] = self.metrics.http_latency.labels(method, template)
        latency.observe(seconds)

    def _route_for(self, scope: Scope) -> BaseRoute | None:
        """The route the router would have picked (a full match, else a path-only match)."""
        partial = None
        for route in self.routes:
            match, _ = route.matches(scope)
            if match is Match.FULL:
                return route
            if match is Match.PARTIAL and partial is None:
                partial = route
        return partial
