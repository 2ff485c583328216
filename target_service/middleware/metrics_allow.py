"""`/metrics` only for the networks allowed to read it (`LOADCAP_METRICS_ALLOW`); 403 otherwise.

The metrics say how busy each route, pool and replica is: an admin view, not the public's.
The client is the peer address, or `X-Forwarded-For` only when the peer is a trusted proxy,
the same resolution the rate limit uses.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

from target_service.client_ip import ClientAddress, Networks
from target_service.errors import error_body, send_error

METRICS_PATH = "/metrics"


class MetricsAllowListMiddleware:
    def __init__(self, app: ASGIApp, allowed: Iterable[str], client_address: ClientAddress) -> None:
        self.app = app
        self.allowed = Networks(allowed)
        self.client_address = client_address
        self.body = error_body("forbidden", "/metrics is not served to this network")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != METRICS_PATH:
            await self.app(scope, receive, send)
            return
        if self.allows(self.client_address(scope)):
            await self.app(scope, receive, send)
            return
        await send_error(send, 403, self.body)

    def allows(self, address: str) -> bool:
        return address in self.allowed
