"""loadcap's locustfile with a load generator made slow on purpose: every request costs the
Locust process `LOADCAP_TEST_GENERATOR_BURN_MS` of CPU (default 2 ms) after it completes."""

from __future__ import annotations

import os
import time
from typing import Any

from locust import events

from loadtests.locustfile import *  # noqa: F403  (the users, shapes and loadcap's plugin)

BURN_S = float(os.environ.get("LOADCAP_TEST_GENERATOR_BURN_MS", "2")) / 1000.0


@events.request.add_listener  # type: ignore[untyped-decorator]
def burn_generator_cpu(**_: Any) -> None:
    end = time.thread_time() + BURN_S
    while time.thread_time() < end:
        pass
