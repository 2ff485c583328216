"""Run a snippet that imports Locust in a child interpreter.

Importing locust monkey-patches the whole process with gevent, which would break every other
test in the pytest process, so anything that needs Locust's classes runs over there and
prints its result as JSON.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from typing import Any


def run_in_locust_process(code: str, *, timeout: float = 60.0) -> Any:
    completed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if completed.returncode != 0:
        raise AssertionError(f"child failed ({completed.returncode}):\n{completed.stderr}")
    return json.loads(completed.stdout.strip().splitlines()[-1])
