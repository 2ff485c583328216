"""Shell completion, as typer users expect: `loadcap --show-completion bash` prints the script."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

LOADCAP = Path(sys.executable).with_name("loadcap")


def test_the_completion_script_completes_loadcap_and_its_commands() -> None:
    env = {k: v for k, v in os.environ.items() if k != "_LOADCAP_COMPLETE"}
    script = subprocess.run(
        [str(LOADCAP), "--show-completion", "bash"], env=env, capture_output=True, text=True,
        timeout=60, check=True,
    ).stdout  # fmt: skip
    assert "complete -o default -F _loadcap_completion loadcap" in script
    # What the script asks for when the user types `loadcap ga<TAB>`.
    words = subprocess.run(
        [str(LOADCAP)], env=env | {"_LOADCAP_COMPLETE": "complete_bash",
                                   "COMP_WORDS": "loadcap ga", "COMP_CWORD": "1"},
        capture_output=True, text=True, timeout=60, check=False,
    ).stdout.split()  # fmt: skip
    assert words == ["gate"]
