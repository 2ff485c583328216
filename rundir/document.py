"""Reading and writing the run directory's JSON documents, one way for each.

Every document is a msgspec schema (`run_json`, `hdr_json`, `summary_json`). Reading decodes
the file straight into it: a file that is not JSON, or a field of the wrong type, is a
`DocumentError` naming the file and the field (`$.totals.rps`); fields the schema does not
know are ignored, so a newer loadcap's document still reads. Writing goes through the same
schema, two-space indented as the documents have always been.

Two spellings of "no value" are kept apart in the schemas: a field a producer writes as
`null` defaults to None; a key a producer leaves out when it does not apply (summary.json's
`saturation`, the `hdr` objects) is `UNSET`, so it stays out when written again.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from rundir.errors import LoadcapError

_T = TypeVar("_T")

_JSON_KINDS = {"[": "an array", '"': "a string", "t": "a boolean", "f": "a boolean", "n": "null"}


class DocumentError(LoadcapError, ValueError):
    """A run-directory document that cannot be read: `path` and what is wrong with it."""

    def __init__(self, path: Path, message: str, *, detail: str) -> None:
        super().__init__(message)
        self.path = path
        self.detail = detail


def read_document(path: Path, schema: type[_T]) -> _T:
    """`path` decoded into `schema`; `DocumentError` when it is unreadable or does not fit."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        detail = f"cannot be read ({exc.strerror or exc})"
        raise DocumentError(path, f"{path}: {detail}", detail=detail) from None
    try:
        return msgspec.json.decode(data, type=schema)
    except msgspec.ValidationError as exc:
        detail = _not_an_object(data) or str(exc)
        raise DocumentError(path, f"{path}: {detail}", detail=detail) from None
    except msgspec.DecodeError as exc:
        detail = f"not valid JSON ({exc})"
        raise DocumentError(path, f"{path} is not valid JSON: {exc}", detail=detail) from None


def _not_an_object(data: bytes) -> str | None:
    start = data.lstrip()[:1].decode("ascii", errors="replace")
    if start == "{":
        return None
    return f"expected an object, got {_JSON_KINDS.get(start, 'a number')}"


def document_text(document: msgspec.Struct) -> str:
    """The document as its file holds it: JSON, two-space indent, a final newline; no NaN."""
    plain = msgspec.to_builtins(document, enc_hook=_plain)
    return json.dumps(plain, indent=2, allow_nan=False) + "\n"


def write_document(path: Path, document: msgspec.Struct) -> Path:
    path.write_text(document_text(document), encoding="utf-8")
    return path


def _plain(value: Any) -> Any:
    """numpy scalars that slipped through become Python numbers (NaN -> null)."""
    if hasattr(value, "item"):
        item = value.item()
        return None if isinstance(item, float) and math.isnan(item) else item
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
