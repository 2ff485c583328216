"""Reading USL measurements: accepted headers and one clear error per kind of bad file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from capacity.errors import CapacityInputError
from capacity.usl_csv import parse_measurements, read_measurements
from cli.app import app


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


def test_rows_not_fitted_are_left_out_and_named() -> None:
    text = (
        "instances,throughput_rps,min_rps,max_rps,repeats,efficiency,first_limit,fitted\n"
        "1,266,225,307,2,1,instances,true\n"
        "2,542,433,651,2,1.02,instances,true\n"
        "3,708,622,795,2,0.89,instances,true\n"
        "4,691,660,722,2,0.65,machine,false\n"
    )
    data = parse_measurements(text, origin="scaleout.csv")
    assert data.n == [1.0, 2.0, 3.0]
    assert data.throughput == [266.0, 542.0, 708.0]
    assert data.left_out == ["N = 4 (first limit: machine)"]
    note = data.left_out_note("scaleout.csv")
    assert note is not None and note.startswith("left out 1 row of scaleout.csv")
    plain = parse_measurements("n,x\n1,10\n2,19\n", origin="plain.csv")
    assert plain.left_out == [] and plain.left_out_note("plain.csv") is None


def test_loadcap_fit_says_which_rows_it_left_out(tmp_path: Path) -> None:
    path = tmp_path / "scaleout.csv"
    path.write_text(
        "instances,throughput_rps,first_limit,fitted\n1,100,instances,true\n"
        "2,190,instances,true\n3,270,instances,true\n4,340,instances,true\n"
        "5,100,load_generator,false\n",
        encoding="utf-8",
    )
    done = CliRunner().invoke(app, ["fit", str(path)])
    assert done.exit_code == 0, done.output
    assert "left out 1 row of scaleout.csv" in done.output
    assert "N = 5 (first limit: load_generator)" in done.output
    as_json = CliRunner().invoke(app, ["fit", str(path), "--json"])
    assert json.loads(as_json.stdout)["left_out"] == ["N = 5 (first limit: load_generator)"]
