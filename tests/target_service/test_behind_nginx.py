"""Two service instances on one Redis behind a real nginx (compose/nginx.conf).

What the horizontal-scaling plan relies on: the load balancer spreads requests over the
instances; the per-client rate limit holds for the fleet, not per instance; and the client is
the address in X-Forwarded-For, because nginx (127.0.0.1) is a trusted proxy.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from target_service.process import ServiceProcess
from target_service.settings import Settings
from tests.fixtures.nginx_server import NginxServer
from tests.fixtures.redis_server import RedisServer

LIMIT = 10  # requests per minute per client; small so a test can exhaust it quickly
LIST = "/api/profiles"


@dataclass(frozen=True)
class Fleet:
    lb: NginxServer
    instances: tuple[ServiceProcess, ServiceProcess]

    def get(self, client_ip: str, path: str = LIST) -> httpx.Response:
        # nginx appends the peer (127.0.0.1) to what the client sent: "ip, 127.0.0.1".
        headers = {"X-Forwarded-For": client_ip}
        return httpx.get(self.lb.base_url + path, headers=headers, timeout=10.0)

    def served_by_instance(self, route: str = LIST) -> list[float]:
        """Requests each instance counted for `route` (any status), from its own /metrics."""
        counts = []
        for instance in self.instances:
            text = httpx.get(instance.base_url + "/metrics", timeout=10.0).text
            counts.append(
                sum(
                    sample.value
                    for family in text_string_to_metric_families(text)
                    for sample in family.samples
                    if sample.name == "loadcap_http_requests_total"
                    and sample.labels.get("route") == route
                )
            )
        return counts


@contextlib.contextmanager
def start_fleet(
    redis: RedisServer,
    nginx_server: Callable[[Sequence[int]], NginxServer],
    directory: Path,
    *,
    trusted_proxies: tuple[str, ...] = ("127.0.0.1", "::1"),
) -> Iterator[Fleet]:
    settings = Settings(
        db_url=f"sqlite:///{directory / 'shared.db'}",
        redis_url=redis.url,
        rate_limit=f"{LIMIT}/minute",
        trusted_proxies=trusted_proxies,
    )
    # Started one after the other: the first seeds the shared database, the second finds it.
    with (
        ServiceProcess(settings, profiles=50) as first,
        ServiceProcess(settings, profiles=50) as second,
    ):
        yield Fleet(nginx_server([first.port, second.port]), (first, second))


@pytest.fixture
def fleet(
    redis_clean: RedisServer,
    nginx_server: Callable[[Sequence[int]], NginxServer],
    tmp_path: Path,
) -> Iterator[Fleet]:
    with start_fleet(redis_clean, nginx_server, tmp_path) as started:
        yield started


def test_requests_are_balanced_across_both_instances(fleet: Fleet) -> None:
    # A different client per request, so the rate limit stays out of this test.
    statuses = [fleet.get(f"198.51.100.{i}").status_code for i in range(1, 21)]
    assert statuses == [200] * 20
    served = fleet.served_by_instance()
    assert sum(served) == 20
    assert min(served) >= 5, f"unbalanced: {served}"


def test_rate_limit_is_shared_by_the_fleet_not_per_instance(fleet: Fleet) -> None:
    responses = [fleet.get("203.0.113.10") for _ in range(2 * LIMIT + 5)]
    statuses = Counter(response.status_code for response in responses)
    # Both instances answered this client, yet it got the limit once, not twice.
    assert min(fleet.served_by_instance()) >= LIMIT // 2
    assert statuses == {200: LIMIT, 429: LIMIT + 5}
    refused = next(response for response in responses if response.status_code == 429)
    assert int(refused.headers["Retry-After"]) > 0


def test_clients_behind_the_proxy_get_separate_budgets(fleet: Fleet) -> None:
    first = Counter(fleet.get("203.0.113.20").status_code for _ in range(LIMIT + 3))
    second = Counter(fleet.get("203.0.113.21").status_code for _ in range(LIMIT + 3))
    # Keyed on the proxy's own address (127.0.0.1) both would share one budget.
    assert first == {200: LIMIT, 429: 3}
    assert second == {200: LIMIT, 429: 3}


def test_forging_the_leftmost_forwarded_for_does_not_buy_a_fresh_budget(fleet: Fleet) -> None:
    # nginx makes it "<forged>, 203.0.113.30, 127.0.0.1"; the service walks from the right
    # past trusted hops, so the client is 203.0.113.30 every time, whatever it prepends.
    statuses = Counter(
        fleet.get(f"192.0.2.{i}, 203.0.113.30").status_code for i in range(1, LIMIT + 4)
    )
    assert statuses == {200: LIMIT, 429: 3}


def test_forwarded_for_is_ignored_when_the_proxy_is_not_trusted(
    redis_clean: RedisServer,
    nginx_server: Callable[[Sequence[int]], NginxServer],
    tmp_path: Path,
) -> None:
    # Trust only some other proxy: every request is nginx's (127.0.0.1), whatever XFF says,
    # so two "clients" share one budget. Otherwise anyone could mint fresh budgets by header.
    with start_fleet(redis_clean, nginx_server, tmp_path, trusted_proxies=("10.0.0.1",)) as fleet:
        statuses = Counter(
            fleet.get(f"203.0.113.{i}").status_code for i in range(40, 40 + LIMIT + 3)
        )
    assert statuses == {200: LIMIT, 429: 3}
