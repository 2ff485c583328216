"""BodyLimitMiddleware on a tiny app: 413 before reading a declared length over the limit,
a chunked body counted as it arrives, non-HTTP scopes untouched."""

from __future__ import annotations

import json

import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from target_service.middleware.body_limit import BodyLimitMiddleware, RequestBodyTooLarge
from tests.target_service.middleware.tiny_app import assert_passes_through, client_for, echo_body

LIMIT = 10


def wrap(app: ASGIApp) -> ASGIApp:
    return BodyLimitMiddleware(app, max_body_bytes=LIMIT)


async def test_a_body_within_the_limit_reaches_the_app() -> None:
    async with client_for(wrap(echo_body)) as client:
        response = await client.post("/", content=b"x" * LIMIT)
    assert response.status_code == 200 and response.content == b"x" * LIMIT


async def test_a_declared_length_over_the_limit_is_refused_before_the_app_runs() -> None:
    calls: list[Scope] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        calls.append(scope)
        await echo_body(scope, receive, send)

    async with client_for(wrap(app)) as client:
        response = await client.post("/", content=b"x" * (LIMIT + 1))
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/json"
    assert response.headers["connection"] == "close"
    assert response.json()["error"]["code"] == "body_too_large"
    assert int(response.headers["content-length"]) == len(response.content)
    assert calls == []


async def drive(app: ASGIApp, chunks: list[bytes]) -> list[Message]:
    """One chunked request, body in `chunks`; the messages the server would have sent."""
    scope: Scope = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "headers": [(b"transfer-encoding", b"chunked")],
    }
    incoming: list[Message] = [
        {"type": "http.request", "body": chunk, "more_body": n < len(chunks) - 1}
        for n, chunk in enumerate(chunks)
    ]
    sent: list[Message] = []

    async def receive() -> Message:
        return incoming.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


async def test_a_chunked_body_is_refused_at_the_chunk_that_passes_the_limit() -> None:
    sent = await drive(wrap(echo_body), [b"x" * 6, b"x" * 6, b"never read"])
    assert sent[0]["status"] == 413
    assert json.loads(sent[1]["body"])["error"]["code"] == "body_too_large"


async def test_a_chunked_body_within_the_limit_reaches_the_app() -> None:
    sent = await drive(wrap(echo_body), [b"x" * 5, b"x" * 5])
    assert sent[0]["status"] == 200 and sent[1]["body"] == b"x" * 10


async def test_a_body_passing_the_limit_after_the_response_started_raises() -> None:
    async def answers_first(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        while (await receive()).get("more_body"):
            pass

    with pytest.raises(RequestBodyTooLarge):
        await drive(wrap(answers_first), [b"x" * 6, b"x" * 6])


@pytest.mark.parametrize("scope_type", ["lifespan", "websocket"])
async def test_non_http_scopes_pass_through(scope_type: str) -> None:
    await assert_passes_through(wrap, scope_type)
