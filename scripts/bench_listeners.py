"""The per-request cost of loadcap's Locust request listeners (exact histogram + per-second
window), in ns per fired `request` event: what every request costs the load generator on
top of sending it. Pin it to a core for steadier figures:

    taskset -c 1 .venv/bin/python scripts/bench_listeners.py
"""

from __future__ import annotations

import time

from locust.event import Events

from loadtests import plugin

NAMES = ("/api/profiles", "/api/profile/{id}")


def ns_per_request(requests: int = 200_000) -> float:
    events = Events()
    plugin.install(events)
    fire = events.request.fire
    started = time.perf_counter()
    for i in range(requests):
        fire(request_type="GET", name=NAMES[i & 1], response_time=3.2 + (i % 7),
             response_length=100, exception=None, context={}, url=None, response=None,
             start_time=0.0)  # fmt: skip
    return (time.perf_counter() - started) / requests * 1e9


if __name__ == "__main__":
    best = min(ns_per_request() for _ in range(9))
    print(f"request listeners: {best:.0f} ns per request (best of 9 x 200,000)")
