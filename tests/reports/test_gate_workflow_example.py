"""The example GitHub Actions workflow is valid and calls loadcap the way the CLI accepts."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml

from cli import app

WORKFLOW = Path(__file__).parents[2] / "examples" / "github-actions" / "loadcap-gate.yml"
CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"


def validate(path: Path) -> subprocess.CompletedProcess[str]:
    # The github-workflows schema ships inside check-jsonschema: no network needed.
    return subprocess.run(
        [str(CHECK_JSONSCHEMA), "--builtin-schema", "vendor.github-workflows", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def steps() -> list[dict[str, Any]]:
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def loadcap_calls() -> list[list[str]]:
    """Every `loadcap ...` command line in the workflow's `run:` scripts, as argv lists."""
    calls = []
    for step in steps():
        script = step.get("run", "").replace("\\\n", " ")
        for line in script.splitlines():
            words = shlex.split(line, comments=True)
            while "loadcap" in words:
                words = words[words.index("loadcap") + 1 :]
                calls.append(words)
    return calls


def test_workflow_is_valid_against_the_github_workflows_schema() -> None:
    result = validate(WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr


def test_schema_check_rejects_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(WORKFLOW.read_text(encoding="utf-8").replace("runs-on:", "runs_on:"))
    assert validate(broken).returncode != 0


def test_workflow_runs_the_load_test_then_gates_it_with_junit_and_uploads() -> None:
    commands = [call[0] for call in loadcap_calls()]
    assert commands.index("run") < commands.index("gate")
    gate_call = next(call for call in loadcap_calls() if call[0] == "gate")
    assert "--junit" in gate_call
    uploads = [s for s in steps() if s.get("uses", "").startswith("actions/upload-artifact")]
    assert uploads and uploads[0]["if"] == "always()"


@pytest.mark.parametrize("argv", loadcap_calls(), ids=lambda argv: " ".join(argv[:2]))
def test_workflow_uses_only_options_the_cli_has(argv: list[str]) -> None:
    # Typer vendors its own click, so walk the command tree by shape, not by class.
    command: Any = typer.main.get_command(app)
    words = list(argv)
    while words and words[0] in getattr(command, "commands", {}):
        command = command.commands[words.pop(0)]
    known = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}
    used = {word.split("=", 1)[0] for word in words if word.startswith("-")}
    assert used <= known, f"loadcap {' '.join(argv[:2])}: unknown {sorted(used - known)}"
