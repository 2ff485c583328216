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

# Blank and control characters spelled out: `\s` differs between Python's `re` (which checks
# here) and ECMA-262 (which OpenAPI clients use), so the document would promise otherwise.
_BLANK = r"\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_VISIBLE = f"[^{_BLANK}]"
_ADDRESS_PART = f"[^@{_BLANK}]+"
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=_VISIBLE)]
Email = Annotated[
    str,
    msgspec.Meta(max_length=254, pattern=f"^{_ADDRESS_PART}@{_ADDRESS_PART}\\.{_ADDRESS_PART}$"),
]
Bio = Annotated[str, msgspec.Meta(max_length=2000)]

# Largest id both backends store (BIGINT / SQLite INTEGER); larger numbers cannot exist.
MAX_ID = 2**63 - 1
MAX_PAGE = 1_000_000
_MAX_ID_DIGITS = len(str(MAX_ID))
# A count with more digits than this is "huge" without being converted.
_MAX_COUNT_DIGITS = 12


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
    # Measured before int(): Python refuses to convert more than 4,300 digits (ValueError).
    digits = raw.lstrip("0")
    if not digits or len(digits) > _MAX_ID_DIGITS or int(digits) > MAX_ID:
        raise ApiError(404, "not_found", f"no profile with id {_shown(raw)}")
    return int(digits)


def parse_paging(query_string: bytes, *, default_limit: int, max_limit: int) -> tuple[int, int]:
    """`page` (1..MAX_PAGE) and `limit` (from 1; any larger value, however long, is capped),
    from the request's raw query string (`scope["query_string"]`)."""
    raw_page, raw_limit = _paging_values(query_string)
    page = _positive_int(raw_page, "page", 1, cap=MAX_PAGE + 1)
    if page > MAX_PAGE:
        raise ApiError(400, "invalid_paging", f"page must be at most {MAX_PAGE}")
    limit = _positive_int(raw_limit, "limit", default_limit, cap=max_limit)
    return page, min(limit, max_limit)


def _paging_values(query_string: bytes) -> tuple[str | None, str | None]:
    """The last `page` and `limit` values, exactly as Starlette's `QueryParams` reads them.
    Without `%` or `+` nothing is decoded, so splitting the string is the whole parse (a list
    page's query, 80 % of requests, costs a split instead of a MultiDict)."""
    if b"%" in query_string or b"+" in query_string:
        params = QueryParams(query_string)
        return params.get("page"), params.get("limit")
    page = limit = None
    for field in query_string.decode("latin-1").split("&"):
        name, _, value = field.partition("=")
        if name == "page":
            page = value
        elif name == "limit":
            limit = value
    return page, limit


def _positive_int(raw: str | None, name: str, default: int, *, cap: int) -> int:
    """`raw`'s value, `default` when absent, or `cap` for a number too long to convert."""
    if raw is None:
        return default
    digits = raw.lstrip("0")
    if not (raw.isdigit() and raw.isascii()) or not digits:
        raise ApiError(
            400, "invalid_paging", f"{name} must be a positive integer, got {_shown(raw)!r}"
        )
    return cap if len(digits) > _MAX_COUNT_DIGITS else int(digits)


def _shown(raw: str, limit: int = 40) -> str:
    """`raw` for an error message: a 5,000-digit path must not come back 5,000 digits long."""
    return raw if len(raw) <= limit else f"{raw[:limit]}... ({len(raw)} characters)"
