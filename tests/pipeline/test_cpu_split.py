"""Generator and service on separate CPUs; `--processes auto`; the new run flags' errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import EXIT_BAD_INPUT, app
from loadtests.errors import LoadTestError
from pipeline.cpu_split import pinned, resolve_processes, split_cpus

needs_taskset = pytest.mark.skipif(shutil.which("taskset") is None, reason="no taskset")


@needs_taskset
def test_the_service_gets_the_lowest_cpus_and_locust_the_rest() -> None:
    split = split_cpus(1, frozenset({0, 1, 2, 3}))

    assert split.service == frozenset({0}) and split.generator == frozenset({1, 2, 3})
    assert split_cpus(4, frozenset({0, 1, 2, 3})).service == frozenset({0, 1})  # at most half
    assert split.as_dict() == {"service_cpus": [0], "generator_cpus": [1, 2, 3]}


def test_one_cpu_pins_nothing() -> None:
    split = split_cpus(1, frozenset({0}))

    assert split.service is None and split.generator is None
    assert pinned(["python"], split.service) == ["python"]


@needs_taskset
def test_pinned_commands_run_under_taskset() -> None:
    command = pinned(["python", "-V"], frozenset({2, 3}))

    assert command[1:] == ["-c", "2,3", "python", "-V"]


def test_processes_auto_is_one_per_generator_cpu_and_numbers_are_checked() -> None:
    assert resolve_processes("auto", frozenset({1, 2, 3})) == 3
    assert resolve_processes("4", None) == 4
    for bad in ("0", "257", "many", "1.5"):
        with pytest.raises(LoadTestError):
            resolve_processes(bad, None)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--processes", "lots"], "--processes must be a whole number or 'auto'"),
        (["--metrics-url", "metrics"], "--metrics-url must be an http(s) URL"),
        (["--service-cores", "0"], "--service-cores must be positive"),
    ],
)
def test_bad_run_flags_are_one_line_and_exit_2(
    tmp_path: Path, flags: list[str], message: str
) -> None:
    result = CliRunner().invoke(app, ["run", "--out", str(tmp_path / "run"), *flags])

    assert result.exit_code == EXIT_BAD_INPUT
    assert message in result.stderr
    assert "Traceback" not in result.stderr
