"""Hostile input on both backends: oversized and chunked bodies, SQL metacharacters, unicode."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from target_service.openapi import openapi_document
from target_service.process import ServiceProcess
from tests.target_service.conftest import ApiUnderTest
from tests.target_service.test_api_contract import assert_error

pytestmark = pytest.mark.servers  # starts the service, Locust or a browser

JSON = {"content-type": "application/json"}


async def test_sql_metacharacters_are_stored_literally(api: ApiUnderTest) -> None:
    nasty = {
        "name": "Robert'); DROP TABLE profiles;--",
        "email": 'o\'brien+"x"@example.com',
        "bio": "100% _wild_ \\ chars; SELECT * FROM profiles WHERE 1=1 -- `tick`",
    }
    created = await api.client.post("/api/profiles", json=nasty)
    assert created.status_code == 201, created.text
    fetched = (await api.client.get(created.headers["location"])).json()
    assert {k: fetched[k] for k in nasty} == nasty
    assert (await api.client.get("/api/profile/1")).status_code == 200  # the table survived
    patched = await api.client.patch(created.headers["location"], json={"bio": "'; --"})
    assert patched.json()["bio"] == "'; --"


async def test_unicode_round_trips(api: ApiUnderTest) -> None:
    profile = {
        "name": "Zoë Ñúñez 李小龍 🚀",
        "email": "zoë.ñ@exämple.com",
        "bio": "Emoji \U0001f469\u200d\U0001f4bb, RTL \u0645\u0631\u062d\u0628\u0627, "
        "combining e\u0301, zero-width \u200b, astral \U0001d518\U0001d52b\U0001d526",
    }
    created = await api.client.post("/api/profiles", json=profile)
    assert created.status_code == 201, created.text
    fetched = (await api.client.get(created.headers["location"])).json()
    assert {k: fetched[k] for k in profile} == profile


async def test_lone_surrogates_are_rejected_not_crashing(api: ApiUnderTest) -> None:
    body = b'{"name": "\\ud800", "email": "s@example.com"}'
    response = await api.client.post("/api/profiles", content=body, headers=JSON)
    assert response.status_code in (400, 422)


async def chunks(total: int, size: int = 8192) -> AsyncIterator[bytes]:
    yield b'{"name": "A", "email": "chunk@example.com", "bio": "'
    for _ in range(total // size):
        yield b"x" * size
    yield b'"}'


async def test_chunked_body_over_limit_is_413_without_content_length(api: ApiUnderTest) -> None:
    response = await api.client.post("/api/profiles", content=chunks(300_000), headers=JSON)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"
    small = await api.client.post("/api/profiles", content=chunks(1_000), headers=JSON)
    assert small.status_code == 201


async def test_declared_length_over_limit_is_refused_before_reading(api: ApiUnderTest) -> None:
    received: list[int] = []

    async def counted() -> AsyncIterator[bytes]:
        for _ in range(30):
            received.append(1)
            yield b"x" * 8192

    headers = {**JSON, "content-length": str(30 * 8192)}
    response = await api.client.post("/api/profiles", content=counted(), headers=headers)
    assert response.status_code == 413
    assert not received  # ASGITransport reads lazily: the app never asked for the body


def test_real_server_rejects_a_huge_chunked_upload(embedded_service: ServiceProcess) -> None:
    sent = 0

    def endless() -> Iterator[bytes]:
        nonlocal sent
        yield b'{"bio": "'
        for _ in range(10_000):  # 80 MB if the server read it all
            sent += 8192
            yield b"x" * 8192

    try:
        response = httpx.patch(
            embedded_service.base_url + "/api/profile/1", content=endless(), headers=JSON,
            timeout=10.0,
        )  # fmt: skip
    except httpx.HTTPError:
        # The server answered 413 and closed while we were still sending: also a refusal.
        response = None
    assert sent < 20_000_000, "the server kept reading a body far beyond the limit"
    if response is not None:
        assert response.status_code == 413
    assert httpx.get(embedded_service.base_url + "/health").status_code == 200


async def test_security_headers_on_every_response(api: ApiUnderTest) -> None:
    for response in (
        await api.client.get("/api/profile/1"),
        await api.client.get("/api/profile/nope"),
        await api.client.post("/api/profiles", content=b"x", headers={"content-type": "text/x"}),
        await api.client.get("/health"),
    ):
        headers = response.headers
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "SAMEORIGIN"
        assert headers["referrer-policy"] == "no-referrer"
        assert headers["strict-transport-security"].startswith("max-age=31536000")
        assert "default-src 'self'" in headers["content-security-policy"]
        assert headers["cross-origin-opener-policy"] == "same-origin"
        assert "x-powered-by" not in headers


def test_real_server_does_not_announce_its_software(embedded_service: ServiceProcess) -> None:
    big = b'{"bio": "' + b"x" * 200_000 + b'"}'
    for response in (
        httpx.get(embedded_service.base_url + "/api/profile/1"),
        httpx.patch(embedded_service.base_url + "/api/profile/1", content=big, headers=JSON),
    ):
        assert "server" not in response.headers, response.headers["server"]
        assert "x-powered-by" not in response.headers
        assert response.headers["x-content-type-options"] == "nosniff"


# --- long numbers and what the OpenAPI document promises ------------------------------------

LONG_NUMBER = "9" * 5_000  # int() refuses more than 4,300 digits


async def test_a_5000_digit_id_is_404_not_500(api: ApiUnderTest) -> None:
    assert_error(await api.client.get(f"/api/profile/{LONG_NUMBER}"), 404, "not_found")
    patch = await api.client.patch(
        f"/api/profile/{LONG_NUMBER}", content=b'{"bio": "x"}', headers=JSON
    )
    assert_error(patch, 404, "not_found")
    assert len(patch.text) < 300  # the message does not echo 5,000 digits
    assert_error(await api.client.get("/api/profile/" + "0" * 5_000), 404, "not_found")
    assert (await api.client.get("/api/profile/" + "0" * 30 + "7")).json()["id"] == 7


async def test_a_5000_digit_limit_is_capped_and_page_is_400(api: ApiUnderTest) -> None:
    capped = await api.client.get(f"/api/profiles?limit={LONG_NUMBER}")
    assert capped.status_code == 200, capped.text
    assert capped.json()["limit"] == api.settings.max_page_limit
    assert_error(await api.client.get(f"/api/profiles?page={LONG_NUMBER}"), 400, "invalid_paging")


async def test_405_allow_lists_every_method_of_the_path(api: ApiUnderTest) -> None:
    for path, allowed in (
        ("/api/profiles", {"GET", "HEAD", "POST"}),
        ("/api/profile/1", {"GET", "HEAD", "PATCH"}),
    ):
        response = await api.client.delete(path)
        assert response.status_code == 405
        assert {m.strip() for m in response.headers["allow"].split(",")} == allowed
        assert response.json()["error"]["code"] == "method_not_allowed"


async def test_control_and_blank_characters_in_emails_are_refused_like_the_schema_says(
    api: ApiUnderTest,
) -> None:
    schema = openapi_document()["components"]["schemas"]["ProfileCreate"]
    pattern = re.compile(schema["properties"]["email"]["pattern"])
    for blank in ("\x00", "\x1f", "\x7f", "\x85", "\xa0", "\u2028", "\ufeff", " "):
        email = f"a{blank}b@example.com"
        assert pattern.search(email) is None, repr(blank)
        body = {"name": "n", "email": email}
        response = await api.client.post("/api/profiles", json=body)
        assert response.status_code == 422, (repr(blank), response.text)
    assert schema["properties"]["name"]["pattern"] and "\\s" not in str(schema)


async def test_an_empty_patch_is_422_and_the_schema_says_so(api: ApiUnderTest) -> None:
    response = await api.client.patch("/api/profile/1", content=b"{}", headers=JSON)
    assert response.status_code == 422
    assert openapi_document()["components"]["schemas"]["ProfilePatch"]["minProperties"] == 1
