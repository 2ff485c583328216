"""Operational endpoints: /health, /metrics (Prometheus text) and /openapi.json."""

from __future__ import annotations

import os
import socket
from collections.abc import Awaitable, Callable

import msgspec
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from target_service.cache import ProfileCache
from target_service.errors import JSON_MEDIA_TYPE
from target_service.metrics import ServiceMetrics
from target_service.openapi import openapi_document
from target_service.rate_limiter import ClientRateLimiter
from target_service.storage import Check, ProfileStore


def instance_id() -> str:
    """`<hostname>:<pid>`: which instance answered, behind a load balancer (a fleet waits until
    /health has answered from N distinct ones). With `--workers` each worker is one."""
    return f"{socket.gethostname()}:{os.getpid()}"


def health_body(checks: list[Check]) -> tuple[int, dict[str, object]]:
    """unhealthy (503) when a critical check fails, degraded (200) when any other does."""
    if any(c.critical and not c.ok for c in checks):
        status, code = "unhealthy", 503
    elif all(c.ok for c in checks):
        status, code = "healthy", 200
    else:
        status, code = "degraded", 200
    details = {c.name: {"ok": c.ok, "critical": c.critical, "detail": c.detail} for c in checks}
    return code, {"status": status, "instance": instance_id(), "checks": details}


class OperationsApi:
    def __init__(
        self,
        store: ProfileStore,
        cache: ProfileCache,
        limiter: ClientRateLimiter | None,
        metrics: ServiceMetrics,
    ) -> None:
        self.store = store
        self.cache = cache
        self.limiter = limiter
        self.metrics = metrics
        self.openapi = msgspec.json.encode(openapi_document())

    def routes(self) -> list[Route]:
        endpoints: list[tuple[str, Callable[[Request], Awaitable[Response]]]] = [
            ("/health", self.health),
            ("/metrics", self.prometheus),
            ("/openapi.json", self.openapi_json),
        ]
        return [Route(path, endpoint, methods=["GET"]) for path, endpoint in endpoints]

    async def health(self, request: Request) -> Response:
        try:
            checks = await self.store.checks()
        except Exception as exc:  # a check must report, never raise
            checks = [Check("database", ok=False, critical=True, detail=type(exc).__name__)]
        checks.append(await self.cache.check())
        if self.limiter is not None:
            checks.append(self.limiter.check())
        status, body = health_body(checks)
        return Response(msgspec.json.encode(body), status, media_type=JSON_MEDIA_TYPE)

    async def prometheus(self, request: Request) -> Response:
        return Response(generate_latest(self.metrics.exposition()), media_type=CONTENT_TYPE_LATEST)

    async def openapi_json(self, request: Request) -> Response:
        return Response(self.openapi, media_type=JSON_MEDIA_TYPE)
