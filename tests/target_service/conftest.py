"""Service fixtures: the app in-process (httpx + ASGITransport) on each backend.

`api` is parametrized over the embedded default (SQLite + in-process cache) and production
(MariaDB + Redis); the second needs the throwaway servers of tests/fixtures.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from target_service.app import Service, create_app
from target_service.backends import build_store
from target_service.metrics import ServiceMetrics
from target_service.seed import seed_profiles
from target_service.settings import Settings

SEEDED = 30  # profiles 1..30 exist in every `api` database


@dataclass
class ApiUnderTest:
    client: httpx.AsyncClient
    app: Starlette
    settings: Settings

    @property
    def service(self) -> Service:
        service: Service = self.app.state.service
        return service


async def prepare(settings: Settings, profiles: int) -> None:
    store = build_store(settings, ServiceMetrics())
    await store.open()
    try:
        await store.init_schema()
        if profiles:
            await seed_profiles(store, profiles)
    finally:
        await store.close()


async def running_api(
    settings: Settings, *, client_ip: str = "127.0.0.1"
) -> AsyncGenerator[ApiUnderTest, None]:
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app, client=(client_ip, 50_000))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://service") as client,
    ):
        yield ApiUnderTest(client, app, settings)


def client_for(app: Starlette, client_ip: str) -> httpx.AsyncClient:
    """Another client of an already running app, connecting from `client_ip`."""
    transport = httpx.ASGITransport(app=app, client=(client_ip, 50_001))
    return httpx.AsyncClient(transport=transport, base_url="http://service")


def backend_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    if request.param == "sqlite":
        return Settings(db_url=f"sqlite:///{tmp_path / 'api.db'}", rate_limit=None)
    mariadb = request.getfixturevalue("mariadb_db")
    redis = request.getfixturevalue("redis_clean")
    return Settings(db_url=mariadb.url, redis_url=redis.url, rate_limit=None)


@pytest.fixture
def metrics() -> ServiceMetrics:
    """A fresh set of the service's collectors (its own registry) for one test."""
    return ServiceMetrics()


@pytest.fixture(params=["sqlite", "mariadb_redis"])
async def api(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ApiUnderTest]:
    settings = backend_settings(request, tmp_path)
    await prepare(settings, SEEDED)
    async for running in running_api(settings):
        yield running


@pytest.fixture
async def sqlite_api(tmp_path: Path) -> AsyncIterator[ApiUnderTest]:
    settings = Settings(db_url=f"sqlite:///{tmp_path / 'api.db'}", rate_limit=None)
    await prepare(settings, SEEDED)
    async for running in running_api(settings):
        yield running
