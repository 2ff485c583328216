"""429 with `Retry-After` once a client passes its rate limit."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from target_service.client_ip import ClientAddress
from target_service.errors import error_body, send_error
from target_service.rate_limiter import ClientRateLimiter

# Monitoring must keep working for a client that is being limited.
EXEMPT_PATHS = frozenset({"/health", "/metrics"})


class RateLimitMiddleware:
    def __init__(
        self, app: ASGIApp, limiter: ClientRateLimiter, client_address: ClientAddress
    ) -> None:
        self.app = app
        self.limiter = limiter
        self.client_address = client_address
        self.body = error_body("rate_limited", f"rate limit {limiter.rate} exceeded")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        retry_after = await self.limiter.allow(self.client_address(scope))
        if retry_after is None:
            await self.app(scope, receive, send)
            return
        await send_error(send, 429, self.body, (b"retry-after", str(int(retry_after)).encode()))
