"""Reading USL measurements: accepted headers and one clear error per kind of bad file."""

from __future__ import annotations

from pathlib import Path

import pytest

from capacity.errors import CapacityInputError
from capacity.usl_csv import parse_measurements, read_measurements


@pytest.mark.parametrize("name", ["n", "concurrency", "load", "Instances", "PROCESSORS"])
def test_first_column_may_use_any_accepted_name(name: str) -> None:
    data = parse_measurements(f"{name},rps\n1,10\n2,19\n", origin="t.csv")
    assert data.n == [1.0, 2.0]
    assert data.throughput == [10.0, 19.0]
    assert data.throughput_name == "rps"


def test_blank_lines_and_bom_are_tolerated(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text("\ufeffn,throughput\n\n1,10\n2,19\n\n", encoding="utf-8")
    assert read_measurements(path).n == [1.0, 2.0]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("\n\n", "empty"),
        ("1,10\n2,20\n", "missing header"),
        ("users,rps\n1,10\n", "unknown first column 'users'"),
        ("n\n1\n", "two columns"),
        ("n,rps\n1,ten\n", "row 2: rps 'ten' is not a number"),
        ("n,rps\n1\n", "row 2: expected 2 cells"),
        ("n,rps\ninf,3\n", "must be finite"),
    ],
)
def test_bad_files_raise_one_clear_error(text: str, message: str) -> None:
    with pytest.raises(CapacityInputError, match=message):
        parse_measurements(text, origin="m.csv")


def test_missing_file_is_a_capacity_input_error(tmp_path: Path) -> None:
    with pytest.raises(CapacityInputError, match="cannot read"):
        read_measurements(tmp_path / "absent.csv")
