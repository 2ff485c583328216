"""A listener-only locustfile for scripts/bench_generator.py, loaded beside the locustfile
under test (`-f theirs.py,scripts/bench_generator_probe.py`): every 0.5 s it notes the wall
clock, this process's CPU time and Locust's request total, and writes them to
$BENCH_PROBE_OUT at the end. It adds nothing per request; the steady state (after the
start-up and the spawn) is read from these samples, not from whole-process totals that
charge each locustfile for its imports.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import gevent
from locust import events

INTERVAL_S = 0.5
_samples: list[tuple[float, float, int]] = []


def _sample_forever(environment: Any) -> None:
    while True:
        total = environment.runner.stats.total.num_requests if environment.runner else 0
        _samples.append((time.time(), time.process_time(), int(total)))
        gevent.sleep(INTERVAL_S)


@events.init.add_listener
def _on_init(environment: Any, **_: Any) -> None:
    gevent.spawn(_sample_forever, environment)


@events.quitting.add_listener
def _on_quitting(**_: Any) -> None:
    out = os.environ.get("BENCH_PROBE_OUT")
    if out:
        Path(out).write_text(json.dumps(_samples), encoding="utf-8")
