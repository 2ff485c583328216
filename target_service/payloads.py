"""Request payloads and query parameters: decoding and validation with msgspec.

Field limits fit both backends' columns (name VARCHAR(100), email VARCHAR(254), bio up to
2,000 characters), so a valid payload never hits a database constraint other than email
uniqueness.
"""

from __future__ import annotations

from typing import Annotated, TypeVar

import msgspec
from starlette.datastructures import QueryParams

from target_service.errors import ApiError
from target_service.storage import NewProfile

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=r"\S")]
Email = Annotated[str, msgspec.Meta(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
Bio = Annotated[str, msgspec.Meta(max_length=2000)]

# Largest id both backends store (BIGINT / SQLite INTEGER); larger numbers cannot exist.
MAX_ID = 2**63 - 1
MAX_PAGE = 1_000_000


class ProfileCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    email: Email
    bio: Bio = ""


class ProfilePatch(msgspec.Struct, forbid_unknown_fields=True):
    name: Name | msgspec.UnsetType = msgspec.UNSET
    email: Email | msgspec.UnsetType = msgspec.UNSET
    bio: Bio | msgspec.UnsetType = msgspec.UNSET


T = TypeVar("T")

_create_decoder = msgspec.json.Decoder(ProfileCreate)
_patch_decoder = msgspec.json.Decoder(ProfilePatch)


def _decode(decoder: msgspec.json.Decoder[T], body: bytes) -> T:
    try:
        return decoder.decode(body)
    except msgspec.ValidationError as exc:
        # ValidationError subclasses DecodeError: check it first so bad fields are 422, not 400.
        raise ApiError(422, "invalid_fields", str(exc)) from None
    except msgspec.DecodeError as exc:
        raise ApiError(400, "malformed_json", f"request body is not valid JSON: {exc}") from None


def decode_new_profile(body: bytes) -> NewProfile:
    payload = _decode(_create_decoder, body)
    return {"name": payload.name, "email": payload.email, "bio": payload.bio}


def decode_profile_changes(body: bytes) -> dict[str, str]:
    payload = _decode(_patch_decoder, body)
    changes = {
        field: value
        for field in ProfilePatch.__struct_fields__
        if isinstance(value := getattr(payload, field), str)
    }
    if not changes:
        raise ApiError(422, "invalid_fields", "nothing to update: give name, email or bio")
    return changes


def parse_profile_id(raw: str) -> int:
    """Path ids are decimal digits: anything else is 400, a number no row can have is 404."""
    if not raw.isdigit() or not raw.isascii():
        raise ApiError(400, "invalid_id", "profile id must be a positive integer")
    profile_id = int(raw)
    if not 0 < profile_id <= MAX_ID:
        raise ApiError(404, "not_found", f"no profile with id {raw}")
    return profile_id


def parse_paging(query: QueryParams, *, default_limit: int, max_limit: int) -> tuple[int, int]:
    """`page` (from 1) and `limit` (1..max, larger values are capped) from the query string."""
    page = _positive_int(query, "page", 1)
    if page > MAX_PAGE:
        raise ApiError(400, "invalid_paging", f"page must be at most {MAX_PAGE}")
    limit = _positive_int(query, "limit", default_limit)
    return page, min(limit, max_limit)


def _positive_int(query: QueryParams, name: str, default: int) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    if not (raw.isdigit() and raw.isascii()) or len(raw) > 12 or int(raw) < 1:
        raise ApiError(400, "invalid_paging", f"{name} must be a positive integer, got {raw!r}")
    return int(raw)
