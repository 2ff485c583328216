"""The app factory: `create_app(settings)` and `app_from_env()` for uvicorn's import string.

The store, cache and rate limiter are built here (no I/O) and opened/closed by the lifespan.
Middleware order, outermost first: metrics (sees every response, 429 and 413 included),
security headers, the `/metrics` allow-list, rate limit, body limit, then Starlette's exception
layer and the router.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response

from target_service.api import ProfilesApi
from target_service.backends import build_store
from target_service.cache import CacheBackend, ProfileCache
from target_service.client_ip import ClientAddress
from target_service.errors import STATUS_CODES, error_response
from target_service.memory_cache import MemoryCacheBackend
from target_service.metrics import ServiceMetrics
from target_service.middleware.body_limit import BodyLimitMiddleware
from target_service.middleware.metrics_allow import MetricsAllowListMiddleware
from target_service.middleware.rate_limit import RateLimitMiddleware
from target_service.middleware.request_metrics import RequestMetricsMiddleware
from target_service.middleware.security_headers import SecurityHeadersMiddleware
from target_service.operations import OperationsApi
from target_service.rate_limiter import ClientRateLimiter
from target_service.read_your_writes import ReadYourWrites
from target_service.redis_cache import RedisCacheBackend, fail_fast_pool
from target_service.settings import Settings
from target_service.signing_key import shared_key

log = logging.getLogger("target_service")


def cache_settings(settings: Settings) -> Settings:
    """Without Redis the cache is this process's memory, which hears only this process's
    writes. That is the whole truth for SQLite (one file, one process) and for a MariaDB the
    operator says has one instance (`single_instance`); any other instance on the same
    MariaDB would make this one serve what it overwrote for a whole TTL. So: no cache."""
    shared_database = settings.db_url.startswith("mysql://")
    if settings.redis_url is not None or not shared_database or settings.single_instance:
        return settings
    if settings.profile_ttl_s or settings.list_ttl_s:
        log.warning(
            "mysql:// database without Redis: the in-process cache is off, as other instances' "
            "writes could not invalidate it; give --redis to cache, or --single-instance "
            "(LOADCAP_SINGLE_INSTANCE=1) if this is the only instance on this database"
        )
    return settings.with_changes(profile_ttl_s=0.0, list_ttl_s=0.0)


class Service:
    """The parts of one app instance, for the lifespan and for tests that look inside."""

    def __init__(self, settings: Settings, metrics: ServiceMetrics | None = None) -> None:
        settings = cache_settings(settings)
        self.settings = settings
        self.metrics = metrics or ServiceMetrics(
            multiprocess_dir=Path(settings.metrics_dir) if settings.metrics_dir else None
        )
        self.store = build_store(settings, self.metrics)
        self.redis_pool = (
            fail_fast_pool(settings.redis_url, settings.redis_timeout_s)
            if settings.redis_url
            else None
        )
        backend: CacheBackend = (
            RedisCacheBackend(self.redis_pool) if self.redis_pool else MemoryCacheBackend()
        )
        self.cache = ProfileCache(backend, self.store, settings, self.metrics)
        self.read_your_writes = ReadYourWrites(
            settings.read_your_writes_s,
            mode=settings.read_your_writes_mode,
            secret=settings.read_your_writes_secret,
        )
        self.limiter = (
            ClientRateLimiter(
                settings.rate_limit,
                self.metrics,
                redis_url=settings.redis_url,
                redis_pool=self.redis_pool,
            )
            if settings.rate_limit
            else None
        )

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        await self.store.open()
        try:
            if self.limiter is not None:
                self.limiter.open()
            async with self._signing_key():
                yield
        finally:
            await self.cache.close()
            await self.store.close()
            if self.redis_pool is not None:
                await self.redis_pool.aclose()
            self.metrics.process_exited()

    def _signing_key(self) -> contextlib.AbstractAsyncContextManager[None]:
        """The database's key for read-your-writes positions, unless one was given."""
        if self.settings.read_your_writes_secret:
            return contextlib.nullcontext()
        return shared_key(self.store, self.read_your_writes, retry_s=self.settings.replica_retry_s)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = STATUS_CODES.get(exc.status_code, "http_error")
    headers = dict(exc.headers) if exc.headers else None
    return error_response(exc.status_code, code, str(exc.detail), headers=headers)


async def _internal_error(request: Request, exc: Exception) -> Response:
    return error_response(500, "internal_error", "internal server error")


def create_app(settings: Settings, *, metrics: ServiceMetrics | None = None) -> Starlette:
    service = Service(settings, metrics)
    profiles = ProfilesApi(settings, service.store, service.cache, service.read_your_writes)
    operations = OperationsApi(service.store, service.cache, service.limiter, service.metrics)
    routes = [*profiles.routes(), *operations.routes()]
    middleware = [
        Middleware(RequestMetricsMiddleware, metrics=service.metrics, routes=routes),
        Middleware(SecurityHeadersMiddleware),
    ]
    client_address = ClientAddress(settings.trusted_proxies)
    middleware.append(
        Middleware(
            MetricsAllowListMiddleware,
            allowed=settings.metrics_allow,
            client_address=client_address,
        )
    )
    if service.limiter is not None:
        middleware.append(
            Middleware(RateLimitMiddleware, limiter=service.limiter, client_address=client_address)
        )
    middleware.append(Middleware(BodyLimitMiddleware, max_body_bytes=settings.body_limit_bytes))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with service.running():
            yield

    app = Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={HTTPException: _http_error, Exception: _internal_error},
        lifespan=lifespan,
    )
    app.state.service = service
    return app


def app_from_env() -> Starlette:
    """Uvicorn factory (`--workers N`): each worker reads the LOADCAP_* variables."""
    settings = Settings.from_env()
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s"
    )
    return create_app(settings)
