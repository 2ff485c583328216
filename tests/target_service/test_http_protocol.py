"""BoundedHttpToolsProtocol on a real uvicorn: the head bounds refuse what they should and
nothing else (bodies, pipelined and keep-alive requests are untouched)."""

from __future__ import annotations

import json
import socket

import pytest

from target_service.http_protocol import MAX_HEAD_BYTES
from target_service.process import ServiceProcess

pytestmark = pytest.mark.servers  # starts the service, Locust or a browser


def exchange(service: ServiceProcess, data: bytes, *, until: bytes, limit: int = 1 << 20) -> bytes:
    with socket.create_connection(("127.0.0.1", service.port), timeout=10) as sock:
        sock.sendall(data)
        received = b""
        while until not in received and len(received) < limit:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
        return received


def test_a_head_just_under_the_cap_is_served_and_one_over_it_is_431(
    embedded_service: ServiceProcess,
) -> None:
    def head(size: int) -> bytes:
        filler = b"X-Filler: " + b"a" * (size - 80) + b"\r\n"
        return b"GET /api/profile/1 HTTP/1.1\r\nHost: t\r\n" + filler + b"Connection: close\r\n\r\n"

    assert exchange(embedded_service, head(MAX_HEAD_BYTES - 1024), until=b"}").startswith(
        b"HTTP/1.1 200"
    )
    assert exchange(embedded_service, head(MAX_HEAD_BYTES + 1024), until=b"\r\n\r\n").startswith(
        b"HTTP/1.1 431"
    )


def test_a_90_kb_body_sent_with_its_head_in_one_write_is_not_a_long_head(
    embedded_service: ServiceProcess,
) -> None:
    body = json.dumps({"name": "Big", "email": "big-body@example.com", "bio": "b" * 1900})
    padded = body.encode() + b" " * (90_000 - len(body))  # JSON allows trailing whitespace
    request = (
        b"POST /api/profiles HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(padded)
    ) + padded
    assert exchange(embedded_service, request, until=b"}").startswith(b"HTTP/1.1 201")


def test_pipelined_requests_each_get_their_answer(embedded_service: ServiceProcess) -> None:
    one = b"GET /api/profile/%d HTTP/1.1\r\nHost: t\r\n\r\n"
    last = b"GET /api/profile/3 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    answers = exchange(embedded_service, one % 1 + one % 2 + last, until=b'"id":3')
    assert answers.count(b"HTTP/1.1 200") == 3
