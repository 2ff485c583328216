"""BoundedHttpToolsProtocol on a real uvicorn: the head bounds refuse what they should and
nothing else (bodies, pipelined and keep-alive requests are untouched)."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from typing import Any

import pytest
from uvicorn._types import ASGISendEvent
from uvicorn.protocols.http.flow_control import FlowControl
from uvicorn.protocols.http.httptools_impl import RequestResponseCycle

from target_service.http_protocol import (
    HELMET_BLOCK,
    MAX_HEAD_BYTES,
    PrebuiltHeadersCycle,
    prebuilt_block,
)
from target_service.middleware.security_headers import HELMET_HEADERS
from target_service.process import ServiceProcess


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


@pytest.mark.servers  # starts the service
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


@pytest.mark.servers  # starts the service
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


@pytest.mark.servers  # starts the service
def test_pipelined_requests_each_get_their_answer(embedded_service: ServiceProcess) -> None:
    one = b"GET /api/profile/%d HTTP/1.1\r\nHost: t\r\n\r\n"
    last = b"GET /api/profile/3 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    answers = exchange(embedded_service, one % 1 + one % 2 + last, until=b'"id":3')
    assert answers.count(b"HTTP/1.1 200") == 3


# --- PrebuiltHeadersCycle: the same bytes as uvicorn's own cycle -----------------------------


class RecordingTransport:
    def __init__(self) -> None:
        self.written = b""
        self.writes = 0
        self.closed = False

    def write(self, data: bytes) -> None:
        self.written += data
        self.writes += 1

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def written_by(
    cycle_class: type[RequestResponseCycle],
    messages: list[ASGISendEvent],
    *,
    method: str = "GET",
    keep_alive: bool = True,
) -> tuple[bytes, bool]:
    return (await recorded(cycle_class, messages, method=method, keep_alive=keep_alive))[:2]


async def recorded(
    cycle_class: type[RequestResponseCycle],
    messages: list[ASGISendEvent],
    *,
    method: str = "GET",
    keep_alive: bool = True,
) -> tuple[bytes, bool, int]:
    transport = RecordingTransport()
    cycle = cycle_class(
        scope={"type": "http", "method": method},  # type: ignore[typeddict-item]
        transport=transport,  # type: ignore[arg-type]
        flow=FlowControl(transport),  # type: ignore[arg-type]
        logger=logging.getLogger("test"),
        access_logger=logging.getLogger("test.access"),
        access_log=False,
        default_headers=[(b"date", b"Fri, 04 Dec 2026 12:00:00 GMT")],
        message_event=asyncio.Event(),
        expect_100_continue=False,
        keep_alive=keep_alive,
        on_response=lambda: None,
    )
    for message in messages:
        await cycle.send(message)
    return transport.written, transport.closed, transport.writes


def start(status: int, *headers: tuple[bytes, bytes]) -> ASGISendEvent:
    return {"type": "http.response.start", "status": status, "headers": list(headers)}


def body(data: bytes, more: bool = False) -> ASGISendEvent:
    return {"type": "http.response.body", "body": data, "more_body": more}


JSON_HEADERS = ((b"content-length", b"2"), (b"content-type", b"application/json"))
RESPONSES: list[tuple[str, list[ASGISendEvent], dict[str, Any]]] = [
    ("helmet's headers last", [start(200, *JSON_HEADERS, *HELMET_HEADERS), body(b"{}")], {}),
    ("no helmet", [start(404, *JSON_HEADERS), body(b"{}")], {}),
    ("helmet, chunked", [start(200, *HELMET_HEADERS), body(b"ab", True), body(b"")], {}),
    ("helmet, 204", [start(204, *HELMET_HEADERS), body(b"")], {}),
    ("helmet, HEAD", [start(200, *JSON_HEADERS, *HELMET_HEADERS), body(b"")], {"method": "HEAD"}),
    (
        "helmet, not kept alive",
        [start(201, *JSON_HEADERS, *HELMET_HEADERS), body(b"{}")],
        {"keep_alive": False},
    ),
    (
        "helmet and connection: close",
        [start(200, *JSON_HEADERS, (b"Connection", b"close"), *HELMET_HEADERS), body(b"{}")],
        {},
    ),
    ("helmet not last", [start(200, *HELMET_HEADERS, *JSON_HEADERS), body(b"{}")], {}),
    (
        "equal copies of helmet's headers",
        [
            start(200, *JSON_HEADERS, *[(bytes(n), bytes(v)) for n, v in HELMET_HEADERS]),
            body(b"{}"),
        ],
        {},
    ),
]


@pytest.mark.parametrize(("case", "messages", "options"), RESPONSES, ids=[r[0] for r in RESPONSES])
async def test_prebuilt_headers_cycle_writes_what_uvicorns_cycle_writes(
    case: str, messages: list[ASGISendEvent], options: dict[str, Any]
) -> None:
    expected = await written_by(RequestResponseCycle, messages, **options)
    assert await written_by(PrebuiltHeadersCycle, messages, **options) == expected
    if not case.startswith("no "):
        assert expected[0].count(HELMET_BLOCK) == 1


async def test_prebuilt_headers_cycle_still_refuses_invalid_headers() -> None:
    bad = start(200, (b"x-bad", b"a\nb"), *HELMET_HEADERS)
    with pytest.raises(RuntimeError, match="Invalid HTTP header value"):
        await written_by(PrebuiltHeadersCycle, [bad])


def test_a_framing_header_cannot_be_prebuilt() -> None:
    with pytest.raises(ValueError, match="uvicorn must see it"):
        prebuilt_block(((b"content-length", b"2"),))


async def test_a_response_is_one_write_with_its_body() -> None:
    messages = [start(200, *JSON_HEADERS, *HELMET_HEADERS), body(b"{}")]
    assert (await recorded(RequestResponseCycle, messages))[2] == 2
    assert (await recorded(PrebuiltHeadersCycle, messages))[2] == 1


async def test_a_body_longer_than_its_content_length_is_still_refused() -> None:
    too_long = [start(200, *JSON_HEADERS, *HELMET_HEADERS), body(b"{ }")]
    with pytest.raises(RuntimeError, match="longer than Content-Length"):
        await written_by(PrebuiltHeadersCycle, too_long)
