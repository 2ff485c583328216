"""Shared fixtures. Server fixtures start throwaway processes on free loopback ports.

With CI=true, a test that needs a server fails when the server cannot be started instead of
being skipped (see tests/fixtures/servers_required.py).
"""

pytest_plugins = [
    "tests.fixtures.redis_server",
    "tests.fixtures.mariadb_server",
    "tests.fixtures.nginx_server",
    "tests.fixtures.service",
    "tests.fixtures.prometheus_server",
    "tests.fixtures.fleet",
]
