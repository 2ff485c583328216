"""A minimal ASGI app to wrap in one middleware, a client for it, and the non-HTTP
pass-through check.

The client is httpx's ASGI transport, as in the service tests: starlette's TestClient warns
(an error here) without the `httpx2` package.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
from starlette.types import ASGIApp, Message, Receive, Scope, Send

Wrap = Callable[[ASGIApp], ASGIApp]


def client_for(app: ASGIApp, client_ip: str = "192.0.2.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(client_ip, 50_000))
    return httpx.AsyncClient(transport=transport, base_url="http://tiny")


async def echo_body(scope: Scope, receive: Receive, send: Send) -> None:
    """200 with the request body it read, or `status` from the `x-status` header."""
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    status = int(dict(scope["headers"]).get(b"x-status", b"200"))
    headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def assert_passes_through(wrap: Wrap, scope_type: str) -> None:
    """A `lifespan` or `websocket` scope reaches the app with the very scope, receive and
    send it came with: nothing read, sent, counted or wrapped on the way."""
    calls: list[tuple[Scope, Receive, Send]] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        calls.append((scope, receive, send))

    async def receive() -> Message:
        raise AssertionError("the middleware read from a non-HTTP connection")

    async def send(message: Message) -> None:
        raise AssertionError(f"the middleware sent {message['type']} on a non-HTTP connection")

    # What an HTTP request would be refused, limited or counted for, were it HTTP.
    scope: Scope = {
        "type": scope_type,
        "path": "/items/1",
        "method": "POST",
        "headers": [(b"content-length", b"999999999")],
        "client": ("192.0.2.1", 1234),
    }
    if scope_type == "lifespan":
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}}
    original = dict(scope)
    await wrap(app)(scope, receive, send)
    assert len(calls) == 1
    passed_scope, passed_receive, passed_send = calls[0]
    assert passed_scope is scope and scope == original
    assert passed_receive is receive and passed_send is send
