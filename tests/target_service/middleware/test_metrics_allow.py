"""MetricsAllowListMiddleware: /metrics for allowed networks only, the rest untouched."""

from __future__ import annotations

import pytest
from starlette.types import ASGIApp

from target_service.client_ip import ClientAddress
from target_service.middleware.metrics_allow import MetricsAllowListMiddleware
from target_service.settings import METRICS_ALLOW_DEFAULT, Settings, SettingsError
from tests.target_service.middleware.tiny_app import (
    Wrap,
    assert_passes_through,
    client_for,
    echo_body,
)

PROXY = "192.0.2.10"


def wrapper(allowed: tuple[str, ...] = METRICS_ALLOW_DEFAULT) -> Wrap:
    def wrap(app: ASGIApp) -> ASGIApp:
        return MetricsAllowListMiddleware(app, allowed, ClientAddress([PROXY]))

    return wrap


@pytest.mark.parametrize(
    "client_ip", ["127.0.0.1", "10.1.2.3", "172.28.0.5", "192.168.1.1", "::1", "::ffff:10.0.0.1"]
)
async def test_loopback_and_private_networks_read_metrics_by_default(client_ip: str) -> None:
    async with client_for(wrapper()(echo_body), client_ip=client_ip) as client:
        assert (await client.get("/metrics")).status_code == 200


async def test_a_public_address_gets_403_with_the_error_shape() -> None:
    async with client_for(wrapper()(echo_body), client_ip="203.0.113.7") as client:
        refused = await client.get("/metrics")
        api = await client.get("/api/profiles")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"
    assert api.status_code == 200  # only /metrics is guarded


async def test_forwarded_for_counts_only_from_a_trusted_proxy() -> None:
    outside = {"x-forwarded-for": "203.0.113.7"}
    inside = {"x-forwarded-for": "10.0.0.9"}
    async with client_for(wrapper(("10.0.0.0/8",))(echo_body), client_ip=PROXY) as proxied:
        assert (await proxied.get("/metrics", headers=outside)).status_code == 403
        assert (await proxied.get("/metrics", headers=inside)).status_code == 200
    async with client_for(wrapper(("10.0.0.0/8",))(echo_body), client_ip="10.0.0.9") as direct:
        # A client inside the network may not pretend to be outside it, nor the reverse.
        assert (await direct.get("/metrics", headers=outside)).status_code == 200
    async with client_for(wrapper(("10.0.0.0/8",))(echo_body), client_ip="203.0.113.7") as spoof:
        assert (await spoof.get("/metrics", headers=inside)).status_code == 403


@pytest.mark.parametrize("scope_type", ["lifespan", "websocket"])
async def test_non_http_scopes_pass_through_untouched(scope_type: str) -> None:
    await assert_passes_through(wrapper(), scope_type)


def test_the_allow_list_is_read_from_the_environment_and_checked() -> None:
    settings = Settings.from_env({"LOADCAP_METRICS_ALLOW": "10.0.0.0/8, 2001:db8::/32"})
    assert settings.metrics_allow == ("10.0.0.0/8", "2001:db8::/32")
    with pytest.raises(SettingsError, match="LOADCAP_METRICS_ALLOW"):
        Settings.from_env({"LOADCAP_METRICS_ALLOW": "10.0.0.0/8,prometheus"})
