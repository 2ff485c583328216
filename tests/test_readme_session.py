"""The README's "typical session" runs as written, in an empty directory.

The commands are read from README.md itself, so the README cannot drift from what works.
Only what a test must change is changed: free ports instead of 8000/8089, and shorter
durations. Background commands (`... &`) are started first and stopped at the end.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.fixtures.ports import free_port, wait_for_port

pytestmark = pytest.mark.servers  # starts the service, Locust or a browser

ROOT = Path(__file__).parents[1]
VENV_BIN = Path(sys.executable).parent
SHORTER = {
    "--duration 2m": "--duration 8s",
    "--duration 30s": "--duration 6s",
    "--instances 1,2,3,4": "--instances 1,2 --duration 3s --warmup 2s --profiles 200",
}


def session_commands(readme: str) -> list[str]:
    """The shell commands of the first bash block under "## A typical session"."""
    section = readme.split("## A typical session", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.DOTALL)
    assert block is not None, "README: no bash block in 'A typical session'"
    commands = []
    for line in block.group(1).splitlines():
        command = re.split(r"\s{2,}#", line)[0].strip()  # a trailing "   # comment"
        if command and not command.startswith("#"):
            commands.append(command)
    return commands


def adapted(command: str, service_port: int, web_port: int) -> str:
    command = command.replace("127.0.0.1:8000", f"127.0.0.1:{service_port}")
    for written, shorter in SHORTER.items():
        command = command.replace(written, shorter)
    background = command.endswith("&")
    command = command.removesuffix("&").strip()
    if command.startswith("loadcap serve"):
        command += f" --port {service_port}"
    if command.startswith("locust "):
        command += f" --web-port {web_port} --web-host 127.0.0.1"
    return command + (" &" if background else "")


@pytest.fixture
def session_dir(tmp_path: Path) -> Iterator[Path]:
    directory = tmp_path / "empty"
    directory.mkdir()
    yield directory


def test_readme_parser_sees_the_whole_session() -> None:
    commands = session_commands((ROOT / "README.md").read_text(encoding="utf-8"))
    assert commands[0].startswith("loadcap serve") and commands[0].endswith("&")
    assert any(c.startswith("loadcap gate") and "--baseline runs/main" in c for c in commands)
    assert any("--out runs/main" in c for c in commands)  # the baseline is made, not assumed


@pytest.mark.timeout(420)
def test_readme_typical_session_passes_as_written(session_dir: Path) -> None:
    service_port, web_port = free_port(), free_port()
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("GITHUB_STEP_SUMMARY", None)
    background: list[subprocess.Popen[bytes]] = []
    transcript: list[str] = []
    try:
        for written in session_commands((ROOT / "README.md").read_text(encoding="utf-8")):
            command = adapted(written, service_port, web_port)
            if command.endswith("&"):
                log = (session_dir / f"background-{len(background)}.log").open("wb")
                background.append(
                    subprocess.Popen(
                        ["bash", "-c", command.removesuffix("&")],
                        cwd=session_dir,
                        env=env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
                log.close()
                port = service_port if command.startswith("loadcap serve") else web_port
                wait_for_port(port, timeout=90)
                continue
            result = subprocess.run(
                ["bash", "-c", command], cwd=session_dir, env=env, capture_output=True,
                text=True, timeout=180, check=False,
            )  # fmt: skip
            transcript.append(f"$ {command}\n{result.stdout}{result.stderr}")
            assert result.returncode == 0, "\n".join(transcript)
        page = httpx.get(f"http://127.0.0.1:{web_port}/", timeout=10)
        assert page.status_code == 200 and "Locust" in page.text  # the web UI is up
    finally:
        for process in background:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGINT)
        for process in background:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    assert "seeded 10,000 profiles" in (session_dir / "background-0.log").read_text()
    step_run = json.loads((session_dir / "runs" / "step" / "run.json").read_text("utf-8"))
    assert step_run["id_count"] == 10_000  # learned from the target: the whole seed is drawn
    assert (session_dir / "runs" / "main" / "summary.json").is_file()
    assert (session_dir / "runs" / "step" / "report.html").is_file()
    assert (session_dir / "gate.xml").is_file()
