"""Paging parameters read from the raw query string mean what Starlette's QueryParams reads."""

from __future__ import annotations

import pytest
from starlette.datastructures import QueryParams

from target_service.errors import ApiError
from target_service.payloads import MAX_PAGE, _paging_values, parse_paging

QUERY_STRINGS = [
    b"",
    b"page=2&limit=20",
    b"limit=5",
    b"page=3&page=4",  # the last value wins
    b"page",  # a name without "=" is an empty value
    b"page=&limit=",
    b"&&page=2&&",
    b"pagex=2&xpage=3&Page=4",
    b"page=2=3",
    b"page=%32&limit=1%30",  # percent-encoded digits
    b"page=+2",
    b"pa%67e=5",  # an encoded name
    b"page=%ZZ",
    b"limit=\xc3\xa9",  # raw non-ASCII bytes
    b"page=1;limit=3",  # ";" is no separator
    b"other=a+b&page=7",
]


@pytest.mark.parametrize("query_string", QUERY_STRINGS)
def test_paging_values_match_starlettes_query_params(query_string: bytes) -> None:
    params = QueryParams(query_string)
    assert _paging_values(query_string) == (params.get("page"), params.get("limit"))


def test_paging_defaults_caps_and_refusals() -> None:
    assert parse_paging(b"", default_limit=20, max_limit=100) == (1, 20)
    assert parse_paging(b"page=3&limit=007", default_limit=20, max_limit=100) == (3, 7)
    assert parse_paging(b"limit=" + b"9" * 50, default_limit=20, max_limit=100) == (1, 100)
    assert parse_paging(b"page=%32", default_limit=20, max_limit=100) == (2, 20)
    for bad in (b"page=0", b"page=-1", b"limit=", b"limit=1.5", b"page=+2", b"page=\xd9\xa3"):
        with pytest.raises(ApiError) as raised:
            parse_paging(bad, default_limit=20, max_limit=100)
        assert (raised.value.status, raised.value.code) == (400, "invalid_paging")
    with pytest.raises(ApiError, match=f"page must be at most {MAX_PAGE}"):
        parse_paging(b"page=" + str(MAX_PAGE + 1).encode(), default_limit=20, max_limit=100)
