"""run.json's planned stages must be the stages Locust is told to run: the reports package
cuts the history at these boundaries to find the saturation point."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.run_record import planned_stages
from pipeline.runner import RunSettings, locust_options
from rundir.run_json import PlannedStage
from tests.loadtests.profiles_double import profiles_double


def test_step_stages_in_run_json_follow_the_step_length_given_to_locust(tmp_path: Path) -> None:
    settings = RunSettings(
        out_dir=tmp_path, users=10, duration_s=120, shape="step", step_seconds=15
    )
    # What Locust is told, typed (tests/loadtests/test_arguments.py: Locust reads the same).
    options = locust_options(settings, "http://127.0.0.1:1", 1000)
    stages = planned_stages(settings)

    assert options.step_seconds == 15
    assert options.step_users == 10
    assert [s.end_s for s in stages] == [15.0 * i for i in range(1, 9)]
    assert [s.users for s in stages] == [10 * i for i in range(1, 9)]


def test_a_constant_run_has_one_stage_at_its_user_count(tmp_path: Path) -> None:
    stages = planned_stages(RunSettings(out_dir=tmp_path, users=25, duration_s=30))
    assert stages == [PlannedStage(start_s=0.0, end_s=30, users=25, rps=None)]


@pytest.mark.servers
def test_loadcap_run_passes_step_seconds_to_the_step_shape(tmp_path: Path) -> None:
    with profiles_double() as url:
        completed = subprocess.run(
            [
                sys.executable, "-c", "import cli; cli.main()", "run", "--host", url,
                "--shape", "step", "--users", "2", "--step-seconds", "2", "--duration", "4s",
                "--out", str(tmp_path),
            ],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    stages = json.loads((tmp_path / "run.json").read_text())["stages"]
    assert [(s["end_s"], s["users"]) for s in stages] == [(2.0, 2), (4.0, 4)]
    assert "Shape test updating to 4 users" in (tmp_path / "locust.log").read_text()
