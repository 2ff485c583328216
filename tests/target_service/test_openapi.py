"""/openapi.json is a valid OpenAPI 3.1 document, and real responses match it: every status
the service answers is documented for its operation, and every JSON body fits the schema."""

from __future__ import annotations

from contextlib import aclosing
from pathlib import Path
from typing import Any

import httpx
import jsonschema
from openapi_spec_validator import OpenAPIV31SpecValidator

from target_service.settings import Settings
from tests.target_service.conftest import ApiUnderTest, prepare, running_api

JSON = {"content-type": "application/json"}
TOO_BIG = b'{"name": "A", "email": "big@example.com", "bio": "' + b"x" * 200_000 + b'"}'


async def fetch_document(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    doc: dict[str, Any] = response.json()
    return doc


def assert_documented(
    doc: dict[str, Any], template: str, method: str, response: httpx.Response
) -> None:
    """`response` to `method template` is a documented status with a body that fits."""
    operation = doc["paths"][template][method.lower()]
    status = str(response.status_code)
    assert status in operation["responses"], f"{method} {template} answered undocumented {status}"
    documented = operation["responses"][status]
    for header, spec in documented.get("headers", {}).items():
        if spec.get("required"):  # others depend on the database (a GTID) or the client
            assert header.lower() in response.headers, (method, template, status, header)
    content = documented.get("content", {})
    if "application/json" in content:
        schema = {**content["application/json"]["schema"], "components": doc["components"]}
        jsonschema.Draft202012Validator(schema).validate(response.json())


def test_the_document_is_valid_openapi_3_1() -> None:
    from target_service.openapi import openapi_document

    errors = [error.message for error in OpenAPIV31SpecValidator(openapi_document()).iter_errors()]
    assert errors == []


async def test_every_answer_of_the_api_is_documented(api: ApiUnderTest) -> None:
    client = api.client
    doc = await fetch_document(client)
    taken = (await client.get("/api/profile/1")).json()["email"]
    exchanges: list[tuple[str, str, httpx.Response]] = [
        ("/api/profiles", "GET", await client.get("/api/profiles?limit=5")),
        ("/api/profiles", "GET", await client.get("/api/profiles?page=0")),
        ("/api/profile/{id}", "GET", await client.get("/api/profile/3")),
        ("/api/profile/{id}", "GET", await client.get("/api/profile/999999")),
        ("/api/profile/{id}", "GET", await client.get("/api/profile/abc")),
        ("/health", "GET", await client.get("/health")),
        ("/metrics", "GET", await client.get("/metrics")),
    ]
    post_bodies: list[tuple[bytes, dict[str, str]]] = [
        (b'{"name": "New", "email": "new@example.com"}', JSON),
        (b'{"name": "Dup", "email": "' + taken.encode() + b'"}', JSON),
        (b"{nope", JSON),
        (TOO_BIG, JSON),
        (b'{"name": "T", "email": "t@example.com"}', {"content-type": "text/plain"}),
        (b'{"name": "U", "email": "u@example.com", "admin": true}', JSON),
    ]
    for body, headers in post_bodies:
        response = await client.post("/api/profiles", content=body, headers=headers)
        exchanges.append(("/api/profiles", "POST", response))
    for path, body, headers in [
        ("/api/profile/2", b'{"bio": "changed"}', JSON),
        ("/api/profile/2", b'{"email": "' + taken.encode() + b'"}', JSON),
        ("/api/profile/999999", b'{"bio": "x"}', JSON),
        ("/api/profile/abc", b'{"bio": "x"}', JSON),
        ("/api/profile/2", b"{nope", JSON),
        ("/api/profile/2", TOO_BIG, JSON),
        ("/api/profile/2", b'{"bio": "x"}', {"content-type": "text/plain"}),
        ("/api/profile/2", b'{"id": 9}', JSON),
    ]:
        response = await client.patch(path, content=body, headers=headers)
        exchanges.append(("/api/profile/{id}", "PATCH", response))
    statuses = {(method, response.status_code) for _, method, response in exchanges}
    assert {("POST", code) for code in (201, 400, 409, 413, 415, 422)} <= statuses
    assert {("PATCH", code) for code in (200, 400, 404, 409, 413, 415, 422)} <= statuses
    for template, method, response in exchanges:
        assert_documented(doc, template, method, response)


async def test_rate_limited_and_database_down_answers_are_documented(tmp_path: Path) -> None:
    settings = Settings(db_url=f"sqlite:///{tmp_path / 'doc.db'}", rate_limit="1/minute")
    await prepare(settings, 3)
    async with aclosing(running_api(settings)) as running:
        api = await anext(running)
        doc = await fetch_document(api.client)  # uses the one request of this minute
        for template, path in [
            ("/api/profiles", "/api/profiles"),
            ("/api/profile/{id}", "/api/profile/1"),
        ]:
            response = await api.client.get(path)
            assert response.status_code == 429
            assert_documented(doc, template, "GET", response)

    settings = settings.with_changes(rate_limit=None)
    async with aclosing(running_api(settings)) as running:
        api = await anext(running)
        doc = await fetch_document(api.client)
        await api.service.store.close()  # the database becomes unreachable
        try:
            down = [
                ("/api/profiles", "GET", await api.client.get("/api/profiles")),
                ("/api/profile/{id}", "GET", await api.client.get("/api/profile/1")),
                ("/api/profile/{id}", "PATCH", await api.client.patch("/api/profile/1", json={})),
                ("/health", "GET", await api.client.get("/health")),
            ]
            created = await api.client.post("/api/profiles", json={"name": "A", "email": "a@b.co"})
            down.append(("/api/profiles", "POST", created))
            patched = await api.client.patch("/api/profile/1", json={"bio": "x"})
            down.append(("/api/profile/{id}", "PATCH", patched))
        finally:
            await api.service.store.open()  # so the lifespan can close it
        assert 503 in {response.status_code for _, _, response in down}
        for template, method, response in down:
            assert_documented(doc, template, method, response)
