"""The example GitHub Actions workflow, run the way a runner runs it: each step in order,
`run:` scripts with `bash -e`, `if:` conditions evaluated, the Actions cache emulated by a
directory of keys. Twice, as two pushes to main, so the second run is gated against the
first and then refreshes the baseline."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.fixtures.ports import free_port

pytestmark = pytest.mark.servers  # starts the service, Locust or a browser

WORKFLOW = Path(__file__).parents[2] / "examples" / "github-actions" / "loadcap-gate.yml"
VENV_BIN = Path(sys.executable).parent
SKIPPED_ACTIONS = ("actions/checkout", "actions/setup-python", "actions/upload-artifact")


@dataclass
class Runner:
    """One job run: a fresh workspace, the shared cache, the push's context."""

    workspace: Path
    cache: Path
    sha: str
    port: int
    failed: bool = False
    log: list[str] = field(default_factory=list)

    def context(self) -> dict[str, Any]:
        return {"event_name": "push", "ref": "refs/heads/main", "sha": self.sha}

    def condition(self, expression: str | None) -> bool:
        """The few GitHub expression forms the workflow uses."""
        if expression is None:
            return not self.failed
        text = expression.replace("${{", "").replace("}}", "").strip()
        text = text.replace("always()", "True").replace("success()", f"{not self.failed}")
        text = text.replace("failure()", f"{self.failed}")
        text = text.replace("&&", " and ").replace("||", " or ")
        text = re.sub(r"github\.(\w+)", lambda m: repr(self.context()[m.group(1)]), text)
        text = re.sub(r"!(?!=)", " not ", text)
        implicit = "True" if "True" in text or "False" in text else str(not self.failed)
        return bool(eval(text if text != "" else implicit, {"__builtins__": {}}))

    def env(self, workflow: dict[str, Any]) -> dict[str, str]:
        env = {**os.environ, **{k: str(v) for k, v in workflow.get("env", {}).items()}}
        env.update(
            PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            LOADCAP_PORT=str(self.port),
            LOADCAP_HOST=f"http://127.0.0.1:{self.port}",
            LOAD_DURATION="6s",
            GITHUB_EVENT_NAME="push",
            GITHUB_REF="refs/heads/main",
            GITHUB_SHA=self.sha,
            GITHUB_STEP_SUMMARY=str(self.workspace / "step-summary.md"),
        )
        return env

    def expand(self, text: str) -> str:
        return re.sub(r"\$\{\{\s*github\.(\w+)\s*\}\}", lambda m: self.context()[m.group(1)], text)

    def run_step(self, step: dict[str, Any], env: dict[str, str]) -> None:
        name = step.get("name", step.get("uses", "?"))
        uses = step.get("uses", "")
        if uses.startswith(SKIPPED_ACTIONS):
            return
        if uses.startswith("actions/cache/restore"):
            self.restore(step["with"])
            return
        if uses.startswith("actions/cache/save"):
            self.save(step["with"])
            return
        script = step["run"]
        if script.startswith("python -m pip install"):
            script = "loadcap --help > /dev/null"  # this venv has loadcap installed already
        result = subprocess.run(
            ["bash", "-e", "-c", script], cwd=self.workspace, env=env, capture_output=True,
            text=True, timeout=240, check=False,
        )  # fmt: skip
        self.log.append(f"--- {name} (exit {result.returncode})\n{result.stdout}{result.stderr}")
        if result.returncode != 0:
            self.failed = True

    def restore(self, options: dict[str, str]) -> None:
        key, prefix = self.expand(options["key"]), options.get("restore-keys", "")
        saved = sorted(self.cache.iterdir(), key=lambda p: p.stat().st_mtime, reverse=True)
        hit = next((p for p in saved if p.name == key), None) or next(
            (p for p in saved if prefix and p.name.startswith(prefix)), None
        )
        if hit is not None:
            shutil.copytree(hit, self.workspace / options["path"], dirs_exist_ok=True)

    def save(self, options: dict[str, str]) -> None:
        target = self.cache / self.expand(options["key"])
        assert not target.exists(), "Actions cache entries are immutable"
        shutil.copytree(self.workspace / options["path"], target)

    def stop_leftovers(self) -> None:
        pid_file = self.workspace / "serve.pid"
        if pid_file.exists():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid_file.read_text()), signal.SIGKILL)


def run_workflow(runner: Runner) -> Runner:
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    env = runner.env(workflow)
    try:
        for step in workflow["jobs"]["gate"]["steps"]:
            if runner.condition(step.get("if")):
                runner.run_step(step, env)
    finally:
        runner.stop_leftovers()
    return runner


@pytest.mark.timeout(420)
def test_two_pushes_to_main_gate_the_second_against_the_first_and_refresh(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    first = tmp_path / "first"
    second = tmp_path / "second"
    first.mkdir()
    second.mkdir()
    one = run_workflow(Runner(first, cache, "a" * 40, free_port()))
    assert not one.failed, "\n".join(one.log)
    assert (cache / f"loadcap-baseline-{'a' * 40}" / "summary.json").is_file()
    assert "--baseline" not in (first / "step-summary.md").read_text(encoding="utf-8")

    two = run_workflow(Runner(second, cache, "b" * 40, free_port()))
    assert not two.failed, "\n".join(two.log)
    summary = (second / "step-summary.md").read_text(encoding="utf-8")
    assert "Baseline `baseline`" in summary  # gated against the first push's run
    saved = cache / f"loadcap-baseline-{'b' * 40}"
    assert not (saved / "ci").exists()  # replaced, not nested
    assert (saved / "run.json").read_text() == (second / "runs" / "ci" / "run.json").read_text()


def test_the_health_wait_fails_when_the_service_never_comes_up(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        runner = Runner(tmp_path, tmp_path, "c" * 40, port)
        workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
        start = next(s for s in workflow["jobs"]["gate"]["steps"] if "Start" in s.get("name", ""))
        try:
            runner.run_step(start, runner.env(workflow))
        finally:
            runner.stop_leftovers()
    assert runner.failed
    assert "exited during start-up" in runner.log[-1] or "no answer" in runner.log[-1]


def test_a_failed_load_test_still_gets_report_and_gate() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    steps = {s.get("name"): s for s in workflow["jobs"]["gate"]["steps"]}
    runner = Runner(Path("."), Path("."), "d" * 40, 1, failed=True)
    assert runner.condition(steps["Report (report.html, report.md, summary.json)"].get("if"))
    assert runner.condition(steps["Gate"].get("if"))
    assert not runner.condition(steps["Keep this run as the baseline for pull requests"]["if"])
