"""One error base: every package's user error is a `LoadcapError`, and the CLI turns any of
them into one line on stderr and the error's exit code, the same through `main()` (the console
entry point) as through `CliRunner`."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from capacity.errors import CapacityInputError
from cli import EXIT_BAD_INPUT, app, main
from loadtests.errors import LoadTestError
from pipeline.fleet_counters import FleetCountersError
from pipeline.prometheus_fleet import PrometheusError
from reports.errors import GateInputError, ReportInputError
from rundir.document import DocumentError
from rundir.errors import LoadcapError
from rundir.units import UnitError
from target_service.cpu_cap import CpuCapError
from target_service.settings import SettingsError
from target_service.storage import DuplicateEmail, StorageUnavailable


@pytest.mark.parametrize(
    "error",
    [
        SettingsError,
        StorageUnavailable,
        DuplicateEmail,
        CpuCapError,
        LoadTestError,
        ReportInputError,
        GateInputError,
        CapacityInputError,
        UnitError,
        DocumentError,
        PrometheusError,
        FleetCountersError,
    ],
)
def test_every_package_user_error_is_a_loadcap_error_exiting_2(error: type[Exception]) -> None:
    assert issubclass(error, LoadcapError)
    assert error.exit_code == EXIT_BAD_INPUT


@pytest.mark.parametrize("error", [SettingsError, LoadTestError, CapacityInputError, UnitError])
def test_errors_that_were_value_errors_still_are(error: type[Exception]) -> None:
    assert issubclass(error, ValueError)


def test_the_gate_error_is_a_reports_error() -> None:
    assert issubclass(GateInputError, ReportInputError)


def test_main_and_the_test_runner_report_a_user_error_the_same_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = str(tmp_path / "missing")
    via_runner = CliRunner().invoke(app, ["report", missing])
    monkeypatch.setattr(sys, "argv", ["loadcap", "report", missing])
    with pytest.raises(SystemExit) as ended:
        main()
    stderr = capsys.readouterr().err
    assert via_runner.exit_code == ended.value.code == EXIT_BAD_INPUT
    assert stderr == via_runner.stderr == f"error: {missing}: not a directory\n"
