"""A test double of the profiles API: the four endpoints (+ /metrics), valid bodies, an optional
fixed delay per request. Threaded, so a slow response does not hold up the others."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer, ThreadingHTTPServer
from typing import Any

from tests.fixtures.ports import free_port

PROFILE = {
    "id": 1,
    "name": "Ana García",
    "email": "ana@example.test",
    "bio": "backend engineer",
    "created_at": "2026-01-01T00:00:00Z",
    "updated_at": "2026-01-01T00:00:00Z",
}


class _Handler(BaseHTTPRequestHandler):
    server: _DoubleServer
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without this, delayed ACKs add ~40 ms.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _reply(
        self,
        status: int,
        body: object,
        content_type: str = "application/json",
        *,
        cookie: str | None = None,
    ) -> None:
        time.sleep(self.server.delay_s)
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        if cookie is not None:
            self.send_header("Set-Cookie", cookie)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        with self.server.lock:
            self.server.requests += 1

    def _drain(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path.startswith("/api/"):
            with self.server.lock:
                self.server.seen["reads"] += 1
                self.server.seen["reads_with_cookie"] += "loadcap_rw=" in (
                    self.headers.get("Cookie") or ""
                )
        if path == "/api/profiles":
            self._reply(200, {"items": [PROFILE], "page": 1, "limit": 20, "has_more": True})
        elif path.startswith("/api/profile/"):
            self._reply(200, self.server.body_for_one)
        elif path == "/metrics" and self.server.metrics:
            self._reply(200, b"loadcap_http_requests_total 1.0\n", "text/plain; version=0.0.4")
        else:
            self._reply(404, {"error": "not_found"})

    # Like the reference service: a write sets the read-your-writes cookie.
    def do_POST(self) -> None:
        self._drain()
        self._reply(201, PROFILE, cookie=RYW_COOKIE)

    def do_PATCH(self) -> None:
        self._drain()
        self._reply(200, self.server.body_for_one, cookie=RYW_COOKIE)


RYW_COOKIE = "loadcap_rw=1; Max-Age=5; Path=/; HttpOnly"


class _DoubleServer(ThreadingHTTPServer):
    seen: dict[str, int]
    daemon_threads = True
    delay_s = 0.0
    metrics = True
    requests = 0
    body_for_one: object = PROFILE
    lock = threading.Lock()

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients closing keep-alive connections at the end of a run are expected


@contextmanager
def profiles_double(
    *,
    delay_s: float = 0.0,
    metrics: bool = True,
    body_for_one: object = PROFILE,
    seen: dict[str, int] | None = None,
) -> Iterator[str]:
    """Serve on a free loopback port; yields the base URL. `seen` counts API reads and the
    reads that carried the read-your-writes cookie."""
    server = _DoubleServer(("127.0.0.1", free_port()), _Handler)
    server.seen = seen if seen is not None else {}
    server.seen.update(reads=0, reads_with_cookie=0)
    server.delay_s, server.metrics, server.body_for_one = delay_s, metrics, body_for_one
    with serving(server) as url:
        yield url


@contextmanager
def serving(server: HTTPServer) -> Iterator[str]:
    """`server` answering on a thread of its own; yields its base URL, then shuts it down."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
