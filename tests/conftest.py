"""Shared fixtures. Server fixtures start throwaway processes on free loopback ports.

With CI=true, a test that needs a server fails when the server cannot be started instead of
being skipped (see tests/fixtures/servers_required.py).

The `servers` marker: a test that starts a server or a process (MariaDB, Redis, nginx,
Prometheus, Locust, Chromium, the service) is slow. Tests using a server fixture below are
marked automatically; a test that starts processes itself carries `@pytest.mark.servers`
(or its module `pytestmark`). `scripts/test --fast` runs the rest: `-m "not servers"`.
"""

from __future__ import annotations

import pytest

pytest_plugins = [
    "tests.fixtures.redis_server",
    "tests.fixtures.mariadb_server",
    "tests.fixtures.nginx_server",
    "tests.fixtures.service",
    "tests.fixtures.prometheus_server",
    "tests.fixtures.fleet",
]

# Fixtures that start a server process (directly or through a fixture they use).
SERVER_FIXTURES = frozenset(
    {
        "redis_server",
        "mariadb_template",
        "mariadb_server",
        "mariadb_pair_session",
        "mariadb_cluster_session",
        "nginx_server",
        "embedded_service",
        "fleet",
        "prometheus_server",
    }
)
# A parametrized backend that asks for a server fixture only for some of its parameters
# (request.getfixturevalue("redis_clean") when the parameter is "redis").
SERVER_PARAMETERS = ("redis", "mariadb")


def _starts_servers(item: pytest.Item) -> bool:
    if SERVER_FIXTURES.intersection(getattr(item, "fixturenames", ())):
        return True
    callspec = getattr(item, "callspec", None)
    parameters = callspec.params.values() if callspec is not None else ()
    return any(
        isinstance(value, str) and any(server in value for server in SERVER_PARAMETERS)
        for value in parameters
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _starts_servers(item):
            item.add_marker(pytest.mark.servers)
