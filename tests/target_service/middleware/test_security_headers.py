"""SecurityHeadersMiddleware on a tiny app: helmet's headers on every response, the app's
own headers kept, non-HTTP scopes untouched."""

from __future__ import annotations

import pytest
from starlette.types import ASGIApp

from target_service.middleware.security_headers import (
    HELMET_DEFAULTS,
    SecurityHeadersMiddleware,
)
from tests.target_service.middleware.tiny_app import assert_passes_through, client_for, echo_body


def wrap(app: ASGIApp) -> ASGIApp:
    return SecurityHeadersMiddleware(app)


@pytest.mark.parametrize("status", [200, 404, 500])
async def test_every_response_gets_helmets_headers_and_keeps_its_own(status: int) -> None:
    async with client_for(wrap(echo_body)) as client:
        response = await client.post("/", content=b"hello", headers={"x-status": str(status)})
    assert response.status_code == status and response.content == b"hello"
    assert response.headers["content-type"] == "text/plain"
    for name, value in HELMET_DEFAULTS:
        assert response.headers.get_list(name) == [value]


@pytest.mark.parametrize("scope_type", ["lifespan", "websocket"])
async def test_non_http_scopes_pass_through(scope_type: str) -> None:
    await assert_passes_through(wrap, scope_type)
