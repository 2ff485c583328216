"""Uvicorn's httptools protocol with the two bounds it lacks: time and size of a request head.

uvicorn (0.54) bounds neither with httptools: a client that dribbles header bytes keeps its
connection (and the bytes the parser buffers) for as long as it likes, and every byte cancels
the keep-alive timer. Its h11 protocol caps the head's size (`h11_max_incomplete_event_size`)
but not its time, and costs throughput. Here each request head must arrive whole within
`head_timeout_s` of its first byte (of the connection, for the first request) and within
`max_head_bytes`; otherwise the connection gets 408 or 431 and is closed.

    functools.partial(BoundedHttpToolsProtocol, head_timeout_s=10.0, max_head_bytes=65536)

is what `uvicorn.run(http=...)` receives (a partial of a module-level class pickles, so
`--workers N` works too).

Its request cycle (`PrebuiltHeadersCycle`) writes helmet's twelve security headers as one
block checked once at import (uvicorn checks each response header against two regexes,
lower-cases and copies it in Python), and a response's head and body in one write.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn._types import ASGI3Application, ASGISendEvent
from uvicorn.protocols.http.httptools_impl import (
    HEADER_RE,
    HEADER_VALUE_RE,
    STATUS_LINE,
    HttpToolsProtocol,
    RequestResponseCycle,
)

from target_service.middleware.security_headers import HELMET_HEADERS

MAX_HEAD_BYTES = 64 * 1024
# Headers whose values change how uvicorn frames the response: never part of a prebuilt block.
_FRAMING = frozenset({b"content-length", b"transfer-encoding", b"connection"})


def prebuilt_block(headers: tuple[tuple[bytes, bytes], ...]) -> bytes:
    """`headers` as the lines uvicorn would write for them, after the checks it would make."""
    for name, value in headers:
        if HEADER_RE.search(name) or HEADER_VALUE_RE.search(value):
            raise ValueError(f"invalid header for a prebuilt block: {name!r}: {value!r}")
        if name != name.lower() or name in _FRAMING:
            raise ValueError(f"{name!r} cannot be prebuilt: uvicorn must see it")
    return b"".join(b"%s: %s\r\n" % (name, value) for name, value in headers)


HELMET_BLOCK = prebuilt_block(HELMET_HEADERS)


class PrebuiltHeadersCycle(RequestResponseCycle):
    """uvicorn 0.54's request cycle with two changes to how a response is written, not to
    what is written:

    - headers that end with HELMET_HEADERS (SecurityHeadersMiddleware appends them) have
      those written as HELMET_BLOCK, checked once at import, instead of each one checked
      against two regexes, lower-cased and copied on every response;
    - the head is written together with the first body message, one `transport.write` (one
      send(2)) per response instead of two. A response whose app fails between its start
      and its body ends as uvicorn ends it (the connection closed), only without its head.

    Anything else (an access log, a paused transport, a misordered message) goes through
    uvicorn's own `send`."""

    _head: bytes | None = None  # the response head, until the first body message

    async def send(self, message: ASGISendEvent) -> None:
        if self._head is not None and message["type"] == "http.response.body":
            if self.flow.write_paused and not self.disconnected:
                await self.flow.drain()
            head, self._head = self._head, None
            if not self.disconnected:
                self._write_first_body(
                    head, message.get("body", b""), message.get("more_body", False)
                )
            return
        if (
            message["type"] != "http.response.start"
            or self.response_started
            or self.disconnected
            or self.flow.write_paused
            or self.access_log
        ):
            await super().send(message)
            return
        self._head = self._response_head(message["status"], list(message.get("headers", ())))

    def _response_head(self, status_code: int, headers: list[tuple[bytes, bytes]]) -> bytes:
        """uvicorn's `send` for `http.response.start`, returning the head instead of writing it."""
        self.response_started = True
        self.waiting_for_100_continue = False
        split = len(headers) - len(HELMET_HEADERS)
        # Tuples compare element by element, and the same objects compare equal at once.
        prebuilt = split >= 0 and tuple(headers[split:]) == HELMET_HEADERS
        if prebuilt:
            headers = headers[:split]
        content = [STATUS_LINE[status_code]]
        has_connection_close = False
        for name, value in [*self.default_headers, *headers]:
            if HEADER_RE.search(name):
                raise RuntimeError("Invalid HTTP header name.")
            if HEADER_VALUE_RE.search(value):
                raise RuntimeError("Invalid HTTP header value.")
            name = name.lower()
            if name == b"content-length" and self.chunked_encoding is None:
                self.expected_content_length = int(value.decode())
                self.chunked_encoding = False
            elif name == b"transfer-encoding" and value.lower() == b"chunked":
                self.expected_content_length = 0
                self.chunked_encoding = True
            elif name == b"connection":
                connection = [token.lower().strip() for token in value.split(b",")]
                if b"close" in connection:
                    self.keep_alive = False
                    has_connection_close = True
            content.extend([name, b": ", value, b"\r\n"])
        if prebuilt:
            content.append(HELMET_BLOCK)
        if not self.keep_alive and not has_connection_close:
            content.append(b"connection: close\r\n")
        if (
            self.chunked_encoding is None
            and self.scope["method"] != "HEAD"
            and status_code not in (204, 304)
        ):
            self.chunked_encoding = True
            content.append(b"transfer-encoding: chunked\r\n")
        content.append(b"\r\n")
        return b"".join(content)

    def _write_first_body(self, head: bytes, body: bytes, more_body: bool) -> None:
        """uvicorn's `send` for the first `http.response.body`, with the head in front."""
        if self.scope["method"] == "HEAD":
            self.expected_content_length = 0
            self.transport.write(head)
        elif self.chunked_encoding:
            content = [head]
            if body:
                content += [b"%x\r\n" % len(body), body, b"\r\n"]
            if not more_body:
                content.append(b"0\r\n\r\n")
            self.transport.write(b"".join(content))
        else:
            if len(body) > self.expected_content_length:
                raise RuntimeError("Response content longer than Content-Length")
            self.expected_content_length -= len(body)
            self.transport.write(head + body)
        if not more_body:
            if self.expected_content_length != 0:
                raise RuntimeError("Response content shorter than Content-Length")
            self.response_complete = True
            self.message_event.set()
            if not self.keep_alive:
                self.transport.close()
            self.on_response()


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(
        self,
        *args: Any,
        head_timeout_s: float,
        max_head_bytes: int = MAX_HEAD_BYTES,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.head_timeout_s = head_timeout_s
        self.max_head_bytes = max_head_bytes
        self._reading_head = True
        self._head_bytes = 0
        self._message_completed = False
        self._refused = False
        self._head_timer: asyncio.TimerHandle | None = None
        self._draining = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if self._reading_head:
            self._start_head_timer()  # no-op while one runs: later bytes never extend it
        self._message_completed = False
        super().data_received(data)
        # Counted after parsing: a chunk that completes the head (its body may follow in the
        # same chunk) does not count. A head begun by a pipelined request in a chunk that
        # completed the previous one is counted from the next chunk on.
        if self._reading_head and not self._message_completed:
            self._head_bytes += len(data)
            if self._head_bytes > self.max_head_bytes:
                self._refuse(431, b"Request Header Fields Too Large")

    # Once refused, the rest of what the parser is fed in the same read (this head's body,
    # pipelined requests) starts no request cycle: the connection is closing. A refusal can
    # only come at headers-complete or between reads (data_received then returns at once),
    # so the per-header callbacks, called for every request, need no guard.
    def on_message_begin(self) -> None:
        if not self._refused:
            super().on_message_begin()

    def on_headers_complete(self) -> None:
        if self._refused:
            return
        self._reading_head = False
        self._cancel_head_timer()
        # A head that arrived whole in one read was never counted in data_received.
        size = len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)
        if size > self.max_head_bytes:
            self._refuse(431, b"Request Header Fields Too Large")
            return
        super().on_headers_complete()
        if self._draining and self.cycle is not None:
            self.cycle.keep_alive = False  # answered with `connection: close`, then closed

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: ASGI3Application) -> None:
        # uvicorn builds the cycle itself (no hook for its class); the subclass adds no state,
        # so the cycle becomes one before its task first runs (and first reads `send`).
        cycle.__class__ = PrebuiltHeadersCycle
        super()._start_asgi_task(cycle, app)

    def on_body(self, body: bytes) -> None:
        if not self._refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self._refused:
            return
        super().on_message_complete()
        self._reading_head = True  # the next request on this connection starts its own clock
        self._head_bytes = 0
        self._message_completed = True

    # Graceful shutdown without the race a proxy loses. uvicorn closes an idle keep-alive
    # connection at once, while the proxy in front may be sending a request on it at that
    # moment: nginx then answers 502, and retries only idempotent requests, so a POST fails.
    # An idle connection is left to its keep-alive timer instead (a proxy's upstream
    # keep-alive is set shorter, so the proxy closes it first: compose/nginx.conf), and a
    # request that still arrives is served with `connection: close`. uvicorn waits for these
    # connections up to its graceful-shutdown timeout.
    def shutdown(self) -> None:
        self._draining = True
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.keep_alive = False

    def _start_head_timer(self) -> None:
        if self._head_timer is None and self.head_timeout_s > 0:
            self._head_timer = self.loop.call_later(self.head_timeout_s, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self._reading_head and not self.transport.is_closing():
            self._refuse(408, b"Request Timeout")

    def _refuse(self, status: int, reason: bytes) -> None:
        self._cancel_head_timer()
        self._reading_head = False
        self._refused = True
        if self.transport.is_closing():
            return
        self.transport.write(
            b"HTTP/1.1 %d %s\r\ncontent-length: 0\r\nconnection: close\r\n\r\n" % (status, reason)
        )
        self.transport.close()
