"""The request buffer's batched records equal one `record` call per request: the same HDR
histograms (counts, total, min, max), the same per-second windows, the same Prometheus counts."""

from __future__ import annotations

import random

import numpy as np
import pytest

from loadtests.hdr import HIGHEST_US, LatencyRecorder
from loadtests.prometheus_metrics import RequestCounts
from loadtests.request_buffer import Destinations, RequestBuffer
from loadtests.windows import SEAL_AFTER_S, WindowRecorder
from tests.loadtests.locust_process import run_in_locust_process

ENDPOINTS = (("GET", "/api/profiles"), ("GET", "/api/profile/{id}"), ("POST", "/api/profiles"))
# Clamped at both ends, halves that round to even, sub-bucket and bucket edges.
EDGES = (0.0, 0.0004, 0.0005, 0.0015, 2.0475, 2.0485, 4.095, 4.097, 12.3455, 100.0, 100.0001,
         HIGHEST_US / 1000.0, HIGHEST_US / 1000.0 * 2)  # fmt: skip


class Clock:
    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


def requests(count: int, seed: int) -> list[tuple[str, str, float, bool, float]]:
    """(type, name, response time ms, failed, seconds since start) in the order they end."""
    rng = random.Random(seed)
    made, at = [], 0.0
    for i in range(count):
        at += rng.expovariate(1000.0)
        method, name = rng.choice(ENDPOINTS)
        latency = EDGES[i % len(EDGES)] if i % 50 == 0 else rng.lognormvariate(3.0, 1.0)
        made.append((method, name, latency, rng.random() < 0.03, at))
    return made


def test_hdr_record_many_leaves_the_histogram_of_one_record_per_value() -> None:
    values = [random.Random(1).lognormvariate(2.5, 1.5) for _ in range(20_000)] + list(EDGES)
    one_by_one, batched = LatencyRecorder(), LatencyRecorder()
    for value in values:
        one_by_one.record("GET /a", value)
    for batch in (values[:7_000], values[7_000:7_001], values[7_001:]):
        batched.record_many("GET /a", np.array(batch))
    mine, theirs = batched._histograms["GET /a"], one_by_one._histograms["GET /a"]
    assert list(mine.counts) == list(theirs.counts)
    assert (mine.total_count, mine.min_value, mine.max_value) == (
        theirs.total_count, theirs.min_value, theirs.max_value,
    )  # fmt: skip
    assert batched.summary() == one_by_one.summary()
    assert batched.encode() == one_by_one.encode()


def test_prometheus_record_many_gives_the_counts_of_one_record_per_value() -> None:
    rng = random.Random(2)
    values = [rng.choice((5.0, 100.0, 5000.0, 5000.1)) if i % 9 == 0 else rng.expovariate(0.02)
              for i in range(5_000)]  # fmt: skip
    failed = [rng.random() < 0.1 for _ in values]
    one_by_one, batched = RequestCounts(), RequestCounts()
    for value, failure in zip(values, failed, strict=True):
        one_by_one.record("GET /a", value, failure)
    batched.record_many("GET /a", np.array(values[:1000]), sum(failed[:1000]))
    batched.record_many("GET /a", np.array(values[1000:]), sum(failed[1000:]))
    (_, mine), (_, theirs) = batched.items()[0], one_by_one.items()[0]
    assert mine[:-1] == theirs[:-1]  # every bucket and the failures, exactly
    assert mine[-1] == pytest.approx(theirs[-1], rel=1e-12)  # the sum, up to float rounding


def record_both_ways(made: list[tuple[str, str, float, bool, float]], folds: int) -> tuple[
    Destinations, Destinations
]:  # fmt: skip
    clock = Clock()
    old = Destinations(LatencyRecorder(), RequestCounts(), WindowRecorder(clock))
    new = Destinations(LatencyRecorder(), RequestCounts(), WindowRecorder(clock))
    buffer = RequestBuffer(lambda: new, clock=clock)
    fold_every = max(1, len(made) // folds)
    for i, (method, name, latency, failed, at) in enumerate(made):
        clock.now = 5000.0 + at
        key = f"{method} {name}"
        old.latencies.record(key, latency)
        old.counts.record(key, latency, failed)
        old.windows.record(key, latency, failed)
        buffer.add(method, name, latency, failed)
        if i % fold_every == fold_every - 1:
            buffer.fold()
    buffer.fold()
    assert buffer.pending() == 0
    return old, new


@pytest.mark.parametrize("folds", [1, 7, 300])
def test_the_buffered_path_records_what_one_record_per_request_did(folds: int) -> None:
    made = requests(30_000, seed=folds)  # ~30 s of requests, folded in 1 to 300 batches
    old, new = record_both_ways(made, folds)
    assert new.latencies.summary() == old.latencies.summary()
    assert new.windows.summary() == old.windows.summary()
    assert new.windows.take() == old.windows.take()
    for (key, mine), (their_key, theirs) in zip(
        new.counts.items(), old.counts.items(), strict=True
    ):
        assert key == their_key and mine[:-1] == theirs[:-1]
        assert mine[-1] == pytest.approx(theirs[-1], rel=1e-12)


def test_buffered_windows_seal_like_the_one_by_one_path_over_a_long_run() -> None:
    rng = random.Random(3)
    made = [("GET", "/a", rng.expovariate(0.1), i % 11 == 0, i * 0.25) for i in range(1_200)]
    old, new = record_both_ways(made, folds=150)  # 300 s, a fold every 2 s
    assert len(new.windows.sealed) >= 300 - SEAL_AFTER_S - 2
    assert new.windows.sealed == old.windows.sealed
    assert new.windows.summary() == old.windows.summary()


def test_a_workers_report_carries_every_request_noted_before_it() -> None:
    # Locust's events fire in a child interpreter (importing Locust monkey-patches gevent).
    facts = run_in_locust_process("""
        import json
        from locust.env import Environment
        from locust.event import Events
        from loadtests import plugin
        from loadtests.hdr import LatencyRecorder
        from loadtests.windows import WINDOWS_KEY

        events = Events()
        loadcap = plugin.install(events)
        events.init.fire(environment=Environment(events=events), runner=None, web_ui=None)
        buffer = loadcap.state.buffer
        for i in range(10):
            events.request.fire(request_type="GET", name="/api/profiles", response_time=3.0 + i,
                                response_length=10, exception=None if i else RuntimeError("x"),
                                context={}, url=None, response=None, start_time=0.0)
        pending = buffer.pending()
        data = {}
        events.report_to_master.fire(client_id="worker", data=data)
        master = LatencyRecorder()
        master.merge_encoded(data[plugin.HDR_KEY])
        counts = data[plugin.COUNTS_KEY]["GET /api/profiles"]
        times = data[WINDOWS_KEY]["times"]
        print(json.dumps({
            "pending": pending, "after": buffer.pending(),
            "hdr": master.summary()["GET /api/profiles"].count,
            "requests": sum(counts[:-2]), "failures": counts[-2],
            "windows": sorted(t for v in times.values() for t in v["GET /api/profiles"]),
        }))
    """)
    assert facts == {"pending": 10, "after": 0, "hdr": 10, "requests": 10, "failures": 1,
                     "windows": [3.0 + i for i in range(10)]}  # fmt: skip
