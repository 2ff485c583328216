"""SPEC's API table, row by row and error by error, on both backends."""

from __future__ import annotations

import os
import re
import socket

import httpx

from tests.target_service.conftest import SEEDED, ApiUnderTest

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
PROFILE_FIELDS = {"id", "name", "email", "bio", "created_at", "updated_at"}


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {
        "error": {"code": code, "message": response.json()["error"]["message"]}
    }
    assert response.json()["error"]["message"]
    text = response.text.lower()
    for leak in ("traceback", "select ", "insert ", "update profiles", "sqlite", "integrityerror"):
        assert leak not in text, f"{leak!r} leaked in {response.text}"


async def create(api: ApiUnderTest, n: int, **fields: str) -> httpx.Response:
    body = {"name": f"Person {n}", "email": f"person{n}@example.com", "bio": f"bio {n}", **fields}
    return await api.client.post("/api/profiles", json=body)


# --- GET /api/profiles -----------------------------------------------------------------------


async def test_list_returns_a_page_with_paging_info(api: ApiUnderTest) -> None:
    response = await api.client.get("/api/profiles", params={"page": 2, "limit": 10})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"items", "page", "limit", "has_more"}
    assert (body["page"], body["limit"], body["has_more"]) == (2, 10, True)
    assert [p["id"] for p in body["items"]] == list(range(11, 21))
    assert all(set(p) == PROFILE_FIELDS for p in body["items"])


async def test_list_last_page_says_there_is_no_more(api: ApiUnderTest) -> None:
    body = (await api.client.get("/api/profiles", params={"page": 3, "limit": 10})).json()
    assert [p["id"] for p in body["items"]] == list(range(21, SEEDED + 1))
    assert body["has_more"] is False
    beyond = (await api.client.get("/api/profiles", params={"page": 9, "limit": 10})).json()
    assert beyond["items"] == [] and beyond["has_more"] is False


async def test_list_defaults_and_caps_limit(api: ApiUnderTest) -> None:
    default = (await api.client.get("/api/profiles")).json()
    assert (default["page"], default["limit"]) == (1, api.settings.default_page_limit)
    assert len(default["items"]) == api.settings.default_page_limit
    capped = (await api.client.get("/api/profiles", params={"limit": 10_000})).json()
    assert capped["limit"] == api.settings.max_page_limit
    assert len(capped["items"]) == SEEDED


async def test_list_rejects_bad_paging_params(api: ApiUnderTest) -> None:
    for params in ({"page": "0"}, {"page": "-1"}, {"page": "x"}, {"limit": "0"},
                   {"limit": "1.5"}, {"page": "99999999999999999999"}, {"limit": ""}):  # fmt: skip
        response = await api.client.get("/api/profiles", params=params)
        assert_error(response, 400, "invalid_paging")


# --- GET /api/profile/{id} -------------------------------------------------------------------


async def test_get_returns_one_profile(api: ApiUnderTest) -> None:
    response = await api.client.get("/api/profile/7")
    assert response.status_code == 200
    profile = response.json()
    assert set(profile) == PROFILE_FIELDS
    assert profile["id"] == 7
    assert ISO_UTC.match(profile["created_at"]) and ISO_UTC.match(profile["updated_at"])


async def test_get_unknown_id_is_404(api: ApiUnderTest) -> None:
    assert_error(await api.client.get("/api/profile/999999"), 404, "not_found")
    assert_error(await api.client.get("/api/profile/0"), 404, "not_found")
    assert_error(await api.client.get(f"/api/profile/{2**64}"), 404, "not_found")


async def test_get_non_numeric_id_is_400(api: ApiUnderTest) -> None:
    for raw in ("abc", "-1", "1.5", "1e3", "%201", "\uff11"):
        assert_error(await api.client.get(f"/api/profile/{raw}"), 400, "invalid_id")


# --- POST /api/profiles ----------------------------------------------------------------------


async def test_create_answers_201_with_location_and_the_profile(api: ApiUnderTest) -> None:
    response = await create(api, 1)
    assert response.status_code == 201, response.text
    profile = response.json()
    assert set(profile) == PROFILE_FIELDS
    assert profile["email"] == "person1@example.com"
    assert profile["created_at"] == profile["updated_at"]
    assert response.headers["location"] == f"/api/profile/{profile['id']}"
    fetched = await api.client.get(response.headers["location"])
    assert fetched.json() == profile


async def test_create_bio_is_optional(api: ApiUnderTest) -> None:
    response = await api.client.post("/api/profiles", json={"name": "N", "email": "n@example.com"})
    assert response.status_code == 201
    assert response.json()["bio"] == ""


async def test_create_duplicate_email_is_409(api: ApiUnderTest) -> None:
    assert (await create(api, 2)).status_code == 201
    assert_error(await create(api, 2), 409, "duplicate_email")
    # Emails are unique regardless of ASCII case, on both backends.
    assert_error(await create(api, 2, email="PERSON2@example.com"), 409, "duplicate_email")


async def test_create_malformed_json_is_400(api: ApiUnderTest) -> None:
    for body in (b"{", b"{'name': 1}", b"", b"\xff\xfe", b'{"name": "a",}'):
        response = await api.client.post(
            "/api/profiles", content=body, headers={"content-type": "application/json"}
        )
        assert_error(response, 400, "malformed_json")


async def test_create_invalid_or_unknown_fields_are_422(api: ApiUnderTest) -> None:
    bodies = [
        {"name": "A", "email": "a@example.com", "admin": True},
        {"name": "A"},
        {"email": "a@example.com"},
        {"name": "", "email": "a@example.com"},
        {"name": "   ", "email": "a@example.com"},
        {"name": "A", "email": "not-an-email"},
        {"name": "A" * 101, "email": "a@example.com"},
        {"name": "A", "email": "a@example.com", "bio": "b" * 2001},
        {"name": 5, "email": "a@example.com"},
        {"name": "A", "email": "a@example.com", "bio": None},
        {"name": "A", "email": "a@example.com", "id": 5},
        ["A", "a@example.com"],
    ]
    for body in bodies:
        assert_error(await api.client.post("/api/profiles", json=body), 422, "invalid_fields")


async def test_create_wrong_content_type_is_415(api: ApiUnderTest) -> None:
    body = b'{"name": "A", "email": "a@example.com"}'
    for content_type in ("text/plain", "application/x-www-form-urlencoded", None):
        headers = {"content-type": content_type} if content_type else {}
        response = await api.client.post("/api/profiles", content=body, headers=headers)
        assert_error(response, 415, "unsupported_media_type")
    ok = await api.client.post(
        "/api/profiles", content=body, headers={"content-type": "Application/JSON; charset=utf-8"}
    )
    assert ok.status_code == 201


async def test_create_body_over_limit_is_413(api: ApiUnderTest) -> None:
    body = b'{"name": "A", "email": "a@example.com", "bio": "' + b"x" * 110_000 + b'"}'
    response = await api.client.post(
        "/api/profiles", content=body, headers={"content-type": "application/json"}
    )
    assert_error(response, 413, "body_too_large")


# --- PATCH /api/profile/{id} -----------------------------------------------------------------


async def test_patch_updates_only_the_given_fields(api: ApiUnderTest) -> None:
    before = (await api.client.get("/api/profile/5")).json()
    response = await api.client.patch("/api/profile/5", json={"bio": "changed"})
    assert response.status_code == 200, response.text
    after = response.json()
    assert after == {**before, "bio": "changed", "updated_at": after["updated_at"]}
    assert after["updated_at"] > before["updated_at"]
    assert (await api.client.get("/api/profile/5")).json() == after


async def test_patch_errors(api: ApiUnderTest) -> None:
    taken = (await api.client.get("/api/profile/1")).json()["email"]
    json_type = {"content-type": "application/json"}
    assert_error(await api.client.patch("/api/profile/999999", json={"bio": "x"}), 404, "not_found")
    assert_error(await api.client.patch("/api/profile/abc", json={"bio": "x"}), 400, "invalid_id")
    bad = await api.client.patch("/api/profile/2", content=b"{nope", headers=json_type)
    assert_error(bad, 400, "malformed_json")
    assert_error(
        await api.client.patch("/api/profile/2", json={"email": taken}), 409, "duplicate_email"
    )
    big = b'{"bio": "' + b"x" * 200_000 + b'"}'
    assert_error(
        await api.client.patch("/api/profile/2", content=big, headers=json_type),
        413,
        "body_too_large",
    )
    text = await api.client.patch(
        "/api/profile/2", content=b'{"bio": "x"}', headers={"content-type": "text/plain"}
    )
    assert_error(text, 415, "unsupported_media_type")
    for body in ({}, {"nickname": "x"}, {"email": "bad"}, {"name": None}, {"id": 3}):
        assert_error(await api.client.patch("/api/profile/2", json=body), 422, "invalid_fields")
    # None of the failed patches changed anything.
    assert (await api.client.get("/api/profile/2")).json()["email"] != taken


async def test_patch_to_own_email_is_allowed(api: ApiUnderTest) -> None:
    own = (await api.client.get("/api/profile/3")).json()["email"]
    assert (await api.client.patch("/api/profile/3", json={"email": own})).status_code == 200


# --- /health, /metrics, /openapi.json, anything else -----------------------------------------


async def test_health_is_healthy_with_per_check_detail(api: ApiUnderTest) -> None:
    response = await api.client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "healthy"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["cache"]["ok"] is True


async def test_health_names_the_instance_that_answered(api: ApiUnderTest) -> None:
    """Behind a load balancer, a fleet counts its instances by this (hostname:pid)."""
    body = (await api.client.get("/health")).json()
    assert body["instance"] == f"{socket.gethostname()}:{os.getpid()}"


async def test_metrics_are_prometheus_text_with_route_templates(api: ApiUnderTest) -> None:
    await api.client.get("/api/profile/3")
    await api.client.get("/api/profile/4")
    await api.client.get("/no/such/path")
    response = await api.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert (
        'loadcap_http_requests_total{method="GET",route="/api/profile/{id}",status="200"} 2.0'
        in text
    )
    assert 'route="<unmatched>",status="404"' in text
    assert 'loadcap_http_request_duration_seconds_bucket{le="0.1",method="GET"' in text
    assert "loadcap_cache_requests_total" in text and "loadcap_db_queries_total" in text


async def test_openapi_describes_the_api(api: ApiUnderTest) -> None:
    response = await api.client.get("/openapi.json")
    assert response.status_code == 200
    doc = response.json()
    assert doc["openapi"].startswith("3.")
    paths = doc["paths"]
    assert set(paths["/api/profiles"]) == {"get", "post"}
    assert {"get", "patch"} <= set(paths["/api/profile/{id}"])
    assert {"400", "409", "413", "415", "422"} <= set(paths["/api/profiles"]["post"]["responses"])
    create = doc["components"]["schemas"]["ProfileCreate"]
    assert create["additionalProperties"] is False
    assert create["properties"]["name"]["maxLength"] == 100


async def test_unknown_route_and_method_are_json_errors(api: ApiUnderTest) -> None:
    assert_error(await api.client.get("/nope"), 404, "not_found")
    assert_error(await api.client.delete("/api/profile/1"), 405, "method_not_allowed")
