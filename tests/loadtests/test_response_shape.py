"""The response checks' shapes (msgspec types, checked while decoding) accept and refuse the
bodies the dict-walking checks they replaced did."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from loadtests.response_shapes import (
    PAGE,
    PROFILE,
    PROFILE_FIELDS,
    PageShape,
    ProfileShape,
    judge,
)

A_PROFILE = {
    "id": 7,
    "name": "A",
    "email": "a@example.test",
    "bio": None,
    "created_at": "2026-01-01T00:00:00+00:00",
    "updated_at": "2026-01-01T00:00:00+00:00",
}


def was_profile(body: Any) -> bool:
    """The check as it was (before the typed decoders)."""
    return isinstance(body, dict) and body.keys() >= PROFILE_FIELDS and isinstance(body["id"], int)


def was_page(body: Any) -> bool:
    if not isinstance(body, dict) or not isinstance(body.get("items"), list):
        return False
    if not isinstance(body.get("has_more"), bool):
        return False
    return all(was_profile(item) for item in body["items"])


class Response:
    def __init__(self, content: bytes, status_code: int = 200) -> None:
        self.content, self.status_code = content, status_code
        self.outcome: str | None = None

    def success(self) -> None:
        self.outcome = "success"

    def failure(self, message: str) -> None:
        self.outcome = message


def without(field: str) -> dict[str, Any]:
    return {k: v for k, v in A_PROFILE.items() if k != field}


PROFILES = [
    A_PROFILE,
    {**A_PROFILE, "extra": [1, {"x": 2}]},
    {**A_PROFILE, "name": {"nested": 1}},
    *[without(f) for f in sorted(PROFILE_FIELDS)],
    {**A_PROFILE, "id": "7"},
    {**A_PROFILE, "id": 7.5},
    {**A_PROFILE, "id": None},
    [A_PROFILE],
    "profile",
    7,
    None,
]
PAGES = [
    {"items": [A_PROFILE] * 3, "has_more": True},
    {"items": [], "has_more": False, "page": 2},
    {"items": [A_PROFILE, without("email")], "has_more": True},
    {"items": [A_PROFILE]},
    {"items": [A_PROFILE], "has_more": "yes"},
    {"items": {"0": A_PROFILE}, "has_more": True},
    {"has_more": False},
    {"items": [A_PROFILE, 7], "has_more": True},
    [A_PROFILE],
    None,
]


def test_the_shapes_are_the_profile_fields() -> None:
    assert frozenset(ProfileShape.__struct_fields__) == PROFILE_FIELDS
    assert set(PageShape.__struct_fields__) == {"items", "has_more"}


@pytest.mark.parametrize(
    ("shape", "was_ok", "body"),
    [
        *((PROFILE, was_profile, body) for body in PROFILES),
        *((PAGE, was_page, body) for body in PAGES),
    ],
    ids=[
        *(f"profile-{i}" for i in range(len(PROFILES))),
        *(f"page-{i}" for i in range(len(PAGES))),
    ],
)
def test_a_body_passes_exactly_when_it_did_before(
    shape: Any, was_ok: Callable[[Any], bool], body: Any
) -> None:
    response = Response(json.dumps(body).encode())
    judge(response, 200, shape)
    expected = "success" if was_ok(body) else "response body has the wrong shape"
    assert response.outcome == expected


@pytest.mark.parametrize("content", [b"", b"<html>", b'{"items": [', b"\xff"])
def test_a_body_that_is_not_json_fails_as_such(content: bytes) -> None:
    response = Response(content)
    judge(response, 200, PAGE)
    assert response.outcome == "response body is not JSON"


def test_the_status_is_checked_before_the_body() -> None:
    response = Response(json.dumps(A_PROFILE).encode(), status_code=500)
    judge(response, 201, PROFILE)
    assert response.outcome == "HTTP 500, expected 201"
