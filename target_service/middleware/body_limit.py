"""413 for request bodies above the limit, decided before the body is read whole."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from target_service.errors import error_body, send_error


class RequestBodyTooLarge(Exception):
    """Raised from `receive` once the body read so far passes the limit."""


class BodyLimitMiddleware:
    """Rejects a declared Content-Length above the limit at once; counts chunked bodies as
    they arrive and stops at the first chunk that passes it, so at most one chunk past the
    limit is ever held in memory."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        limit_kb = max_body_bytes / 1024
        self.body = error_body("body_too_large", f"request body exceeds {limit_kb:g} KB")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared, chunked = _body_framing(scope)
        if declared is not None and declared > self.max_body_bytes:
            await self._reject(send)
            return
        if not chunked:
            # No body, or one the server stops at its declared length: nothing to count.
            await self.app(scope, receive, send)
            return

        received = 0
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise RequestBodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except RequestBodyTooLarge:
            if response_started:
                raise
            await self._reject(send)

    async def _reject(self, send: Send) -> None:
        # The unread body is still on the wire: this connection cannot be reused.
        await send_error(send, 413, self.body, (b"connection", b"close"))


def _body_framing(scope: Scope) -> tuple[int | None, bool]:
    """(declared Content-Length, whether the body length is unknown in advance)."""
    declared: int | None = None
    chunked = False
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                declared = int(value)
            except ValueError:
                chunked = True  # unparseable: count what actually arrives
        elif name == b"transfer-encoding":
            chunked = True
    return declared, chunked
