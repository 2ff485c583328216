"""generator.csv: each Locust process's CPU, read and turned into shares of a core."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from reports.errors import ReportInputError
from reports.generator import busiest_share, generator_and_machine, load_generator


def _write(run_dir: Path, text: str) -> Path:
    (run_dir / "generator.csv").write_text(text, encoding="utf-8")
    return run_dir


def test_shares_of_a_core_per_process_and_the_machine(tmp_path: Path) -> None:
    rows = "timestamp,process,cpu_s\n"
    for second in range(11):
        rows += f"{1000 + second},worker-1,{0.5 * second}\n"
        rows += f"{1000 + second},worker-2,{0.9 * second}\n"
        rows += f"{1000 + second},machine,{1.8 * second}\n"
    frame = load_generator(_write(tmp_path, rows))
    assert frame is not None
    frame = frame.assign(elapsed_s=frame["timestamp"] - 1000)

    assert busiest_share(frame, 0, 10) == pytest.approx(0.9)  # the machine row is not Locust
    generator, machine = generator_and_machine(frame, 0, 10)
    assert generator == pytest.approx(1.4) and machine == pytest.approx(1.8)


def test_a_run_without_the_file_has_no_generator_facts(tmp_path: Path) -> None:
    assert load_generator(tmp_path) is None
    assert busiest_share(None, 0, 10) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty or not a CSV"),
        ("a,b\n1,2\n", "missing column(s) timestamp, process, cpu_s"),
        ("timestamp,process,cpu_s\n1,local,lots\n", "non-numeric"),
    ],
)
def test_a_broken_file_is_a_clear_input_error(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ReportInputError, match=re.escape(message)):
        load_generator(_write(tmp_path, text))
