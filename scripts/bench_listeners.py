"""What loadcap adds to each request on the load generator, in µs, by part: its `request`
listener (the hot path: the request buffer's appends), the fold that later moves each
request into the exact histograms, the per-second windows and the Prometheus counts
(loadtests/request_buffer.py), and the response checks (loadtests/response_shapes.py) on the
ceiling app's bodies. Pin it to a core for steadier figures:

    taskset -c 1 .venv/bin/python scripts/bench_listeners.py
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from locust.env import Environment
from locust.event import Events

from loadtests import plugin
from loadtests.hdr import LatencyRecorder
from loadtests.prometheus_metrics import RequestCounts
from loadtests.response_shapes import PAGE, PROFILE, judge
from loadtests.windows import WindowRecorder
from scripts.bench_ceiling import PAGE_BODY, PROFILE_BODY

NAMES = ("/api/profiles", "/api/profile/{id}")
REQUESTS = 200_000
BATCH = 6_000  # about a second of one Locust process's requests


def fire_us(events: Events) -> float:
    fire = events.request.fire
    started = time.perf_counter()
    for i in range(REQUESTS):
        fire(request_type="GET", name=NAMES[i & 1], response_time=3.2 + (i % 7),
             response_length=100, exception=None, context={}, url=None, response=None,
             start_time=0.0)  # fmt: skip
    return (time.perf_counter() - started) / REQUESTS * 1e6


def listener_us() -> float:
    """The request event with loadcap's listener, less the event with no listener (each
    the best of 5, alternating)."""
    bare, mine = Events(), Events()
    loadcap = plugin.install(mine)
    mine.init.fire(environment=Environment(events=mine), runner=None, web_ui=None)
    with_listener, without = [], []
    for _ in range(5):
        with_listener.append(fire_us(mine))
        loadcap.state.buffer.fold()
        without.append(fire_us(bare))
    return min(with_listener) - min(without)


def fold_us(part: Callable[[np.ndarray[Any, Any]], None]) -> float:
    times = np.array([3.2 + (i % 7) for i in range(BATCH)])
    started = time.perf_counter()
    for _ in range(20):
        part(times)
    return (time.perf_counter() - started) / (20 * BATCH) * 1e6


class _Response:
    status_code = 200

    def __init__(self, content: bytes) -> None:
        self.content = content

    def success(self) -> None:
        pass

    def failure(self, message: str) -> None:
        raise AssertionError(message)


def check_us(body: bytes, shape: Any) -> float:
    response = _Response(body)
    started = time.perf_counter()
    for _ in range(REQUESTS // 4):
        judge(response, 200, shape)
    return (time.perf_counter() - started) / (REQUESTS // 4) * 1e6


def main() -> None:
    now = np.full(BATCH, time.time())
    ok = np.zeros(BATCH, dtype=np.bool_)
    hdr, counts, windows = LatencyRecorder(), RequestCounts(), WindowRecorder()
    print("µs per request, best of 5")
    print(f"  {'request listener (hot path)':<34} {listener_us():6.3f}")
    parts: dict[str, Callable[[], float]] = {
        "fold: HDR histogram": lambda: fold_us(lambda t: hdr.record_many("GET /a", t)),
        "fold: per-second window": lambda: fold_us(
            lambda t: windows.record_many("GET /a", t, now, ok)
        ),
        "fold: Prometheus counts": lambda: fold_us(lambda t: counts.record_many("GET /a", t, 0)),
        "response check: 20-profile page": lambda: check_us(PAGE_BODY, PAGE),
        "response check: one profile": lambda: check_us(PROFILE_BODY, PROFILE),
    }
    for label, measure in parts.items():
        print(f"  {label:<34} {min(measure() for _ in range(5)):6.3f}")


if __name__ == "__main__":
    main()
