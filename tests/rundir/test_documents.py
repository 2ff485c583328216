"""Each run-directory document is decoded one way: its schema. Bad input is an error naming
the file and the field, unknown fields are ignored and older documents still read."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from capacity.errors import CapacityInputError
from capacity.runs import read_measured_run
from reports.errors import GateInputError, ReportInputError
from reports.gate_facts import load_gate_run
from reports.load import load_run_data
from rundir.document import DocumentError, document_text
from rundir.hdr_json import read_hdr
from rundir.run_json import read_run_record
from rundir.summary_json import read_summary

RECORDED = Path(__file__).parents[1] / "data" / "recorded_runs"


def _write(path: Path, document: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(document if isinstance(document, str) else json.dumps(document), "utf-8")
    return path


def test_a_field_of_the_wrong_type_names_the_file_and_the_field(tmp_path: Path) -> None:
    path = _write(tmp_path / "summary.json", {"totals": {"rps": "fast"}})
    with pytest.raises(DocumentError) as caught:
        read_summary(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert "$.totals.rps" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [("{", "is not valid JSON"), ("[]", "expected an object, got an array"), ("3", "a number")],
)
def test_text_that_is_no_json_object_is_said_to_be_so(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(DocumentError, match=message):
        read_run_record(_write(tmp_path / "run.json", text))


def test_unknown_fields_are_ignored_and_missing_ones_read_as_none(tmp_path: Path) -> None:
    record = read_run_record(_write(tmp_path / "run.json", {"host": "h", "from_the_future": 1}))
    assert record.host == "h" and record.machine is None and record.stages is None


@pytest.mark.parametrize("run", ["constant", "step", "open_model"])
def test_recorded_run_directories_decode(run: str) -> None:
    record = read_run_record(RECORDED / run / "run.json")
    hdr = read_hdr(RECORDED / run / "hdr.json")
    assert record.started_at and record.stages and record.mix
    assert record.cookies is None  # not recorded by that version
    assert hdr.endpoints["Aggregated"].count
    assert (record.open_model is not None) == (run == "open_model") == (hdr.intended is not None)


@pytest.mark.parametrize("run", ["constant", "step", "open_model"])
def test_hdr_json_reads_and_writes_back_byte_for_byte(run: str) -> None:
    path = RECORDED / run / "hdr.json"
    assert document_text(read_hdr(path)) == path.read_text(encoding="utf-8")


def test_the_reports_say_which_field_of_run_json_is_wrong(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(RECORDED / "constant", run_dir)
    _write(run_dir / "run.json", {"started_at": "2026-11-30T08:23:46+00:00", "users": "many"})
    with pytest.raises(ReportInputError, match=r"run\.json: .*\$\.users"):
        load_run_data(run_dir)


def test_the_gate_says_which_field_of_hdr_json_is_wrong(tmp_path: Path) -> None:
    _write(tmp_path / "summary.json", {"totals": {"requests": 1, "failures": 0, "rps": 1.0}})
    _write(tmp_path / "hdr.json", {"endpoints": {"Aggregated": {"p95_ms": "slow"}}})
    with pytest.raises(GateInputError, match=r"hdr\.json: .*\$\.endpoints\[\.\.\.\]\.p95_ms"):
        load_gate_run(tmp_path)


def test_a_plan_says_which_field_of_summary_json_is_wrong(tmp_path: Path) -> None:
    _write(tmp_path / "summary.json", {"totals": {"rps": 10.0}, "capacity_rps": "lots"})
    with pytest.raises(CapacityInputError, match=r"summary\.json: unreadable .*\$\.capacity_rps"):
        read_measured_run(tmp_path)
