"""docs/run-directory.md describes the run directory's documents as their schemas do: every
field of each schema (nested ones by dotted path) is in the doc's example of that document,
and every field the example shows is in the schema."""

from __future__ import annotations

import re
from pathlib import Path

import msgspec
import pytest

from rundir.hdr_json import HdrDocument
from rundir.run_json import RunRecord
from rundir.scaleout_json import ScaleoutDocument
from rundir.summary_json import Summary

DOC = Path(__file__).parents[2] / "docs" / "run-directory.md"
SCHEMAS: dict[str, type[msgspec.Struct]] = {
    "hdr.json": HdrDocument,
    "run.json": RunRecord,
    "scaleout.json": ScaleoutDocument,
    "summary.json": Summary,
}
# Fields documented by another section: summary.json's `run` is a copy of run.json.
ELSEWHERE = {"summary.json": {"run"}}
ELIDED = "..."  # `{"...": "same fields"}`: the object's fields are listed elsewhere
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\]:,]|[^\s{}\[\]:,"]+')
_FIELD = re.compile(r"[a-z][a-z0-9_]*")


def doc_example(name: str) -> str:
    """The ```json block of the doc's section on `name`."""
    text = DOC.read_text(encoding="utf-8")
    section = re.search(rf"^## `{re.escape(name)}`.*?^```json\n(.*?)^```", text, re.M | re.S)
    assert section is not None, f"{DOC} has no JSON example under a `## `{name}`` heading"
    return section.group(1)


def documented(example: str) -> tuple[set[str], set[str]]:
    """(dotted paths of the example's fields, paths of objects whose fields are elided).

    The examples are JSON with alternatives (`"step" | null`), so they are read token by
    token. A key that is not a field name ("GET /api/profiles", "Aggregated") is a map's key:
    what it holds is documented at the map's own path."""
    tokens = _TOKEN.findall(example)
    paths: set[str] = set()
    elided: set[str] = set()
    stack: list[str] = []  # the path of each open object or array
    pending: str | None = None  # the last key read, waiting for its value
    for index, token in enumerate(tokens):
        if token.startswith('"') and index + 1 < len(tokens) and tokens[index + 1] == ":":
            key = token[1:-1]
            here = stack[-1] if stack else ""
            if key == ELIDED:
                elided.add(here)
                pending = here
            elif _FIELD.fullmatch(key):
                pending = f"{here}.{key}" if here else key
                paths.add(pending)
            else:
                pending = here  # a map's key
        elif token in "{[":
            stack.append(pending if pending is not None else (stack[-1] if stack else ""))
            pending = None
        elif token in "}]":
            stack.pop()
        elif token == ",":
            pending = None
    return paths, elided


def schema_fields(schema: type[msgspec.Struct]) -> tuple[set[str], set[str]]:
    """(dotted paths of the schema's fields, paths of its free-form maps)."""
    paths: set[str] = set()
    maps: set[str] = set()

    def walk(info: msgspec.inspect.Type, path: str) -> None:
        if isinstance(info, msgspec.inspect.UnionType):
            for member in info.types:
                walk(member, path)
        elif isinstance(info, msgspec.inspect.ListType):
            walk(info.item_type, path)
        elif isinstance(info, msgspec.inspect.DictType):
            if isinstance(info.value_type, msgspec.inspect.StructType):
                walk(info.value_type, path)  # keyed by endpoint: the values' fields
            else:
                maps.add(path)
        elif isinstance(info, msgspec.inspect.StructType):
            for field in info.fields:
                name = field.encode_name  # as the document spells it (`lambda`)
                child = f"{path}.{name}" if path else name
                paths.add(child)
                walk(field.type, child)

    walk(msgspec.inspect.type_info(schema), "")
    return paths, maps


def _under(path: str, parents: set[str]) -> bool:
    return any(path.startswith(parent + ".") for parent in parents)


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_every_schema_field_is_documented(name: str) -> None:
    fields, _ = schema_fields(SCHEMAS[name])
    shown, elided = documented(doc_example(name))
    elsewhere = ELSEWHERE.get(name, set())
    missing = sorted(
        path for path in fields - shown if not _under(path, elided) and not _under(path, elsewhere)
    )
    assert not missing, f"{DOC}: the {name} example does not show {missing}"


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_every_documented_field_is_in_the_schema(name: str) -> None:
    fields, maps = schema_fields(SCHEMAS[name])
    shown, _ = documented(doc_example(name))
    unknown = sorted(path for path in shown - fields if not _under(path, maps))
    assert not unknown, f"{DOC}: the {name} example shows {unknown}, which {name} has not"


def test_the_doc_reader_finds_nested_fields_map_values_and_elisions() -> None:
    example = """{"a": {"b": 1, "Any Key": {"c": 2}}, "d": [{"e": "x" | null}],
                  "f": {"...": "same"}, "g": {"h": 0}}"""
    paths, elided = documented(example)
    assert paths == {"a", "a.b", "a.c", "d", "d.e", "f", "g", "g.h"}
    assert elided == {"f"}
