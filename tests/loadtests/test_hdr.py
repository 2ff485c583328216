import json
from pathlib import Path

import msgspec

from loadtests.hdr import AGGREGATED, LatencyRecorder, write_hdr_json
from rundir.hdr_json import OpenModelTally


def test_percentiles_are_exact_to_three_significant_figures() -> None:
    recorder = LatencyRecorder()
    for ms in range(1, 1001):  # 1..1000 ms, one each
        recorder.record("GET /api/profiles", float(ms))
    facts = msgspec.structs.asdict(recorder.summary()["GET /api/profiles"])
    assert facts["count"] == 1000
    assert abs(facts["p50_ms"] - 500) <= 0.5
    assert abs(facts["p99_ms"] - 990) <= 1.0
    assert abs(facts["p999_ms"] - 999) <= 1.0
    assert abs(facts["max_ms"] - 1000) <= 1.0
    assert facts["min_ms"] == 1.0


def test_sub_millisecond_latencies_keep_microseconds() -> None:
    recorder = LatencyRecorder()
    recorder.record("GET /x", 0.123)
    assert recorder.summary()["GET /x"].p50_ms == 0.123


def test_merging_worker_increments_equals_recording_in_one_place() -> None:
    master, worker_a, worker_b, single = (LatencyRecorder() for _ in range(4))
    for i in range(500):
        worker_a.record("GET /a", 1 + i % 7)
        worker_b.record("GET /a", 50 + i % 11)
        worker_b.record("POST /b", 3.5)
        single.record("GET /a", 1 + i % 7)
        single.record("GET /a", 50 + i % 11)
        single.record("POST /b", 3.5)
    for worker in (worker_a, worker_b):
        master.merge_encoded(json.loads(json.dumps(worker.encode())))  # as sent over the wire
    merged, expected = master.summary(), single.summary()
    for key in ("GET /a", "POST /b", AGGREGATED):
        assert merged[key].latency() == expected[key].latency()  # all but the histogram
    assert merged[AGGREGATED].count == 1500


def test_hdr_json_follows_the_run_directory_contract(tmp_path: Path) -> None:
    service, intended = LatencyRecorder(), LatencyRecorder()
    service.record("GET /api/profile/{id}", 2.0)
    intended.record("GET /api/profile/{id}", 30.0)
    path = tmp_path / "hdr.json"
    write_hdr_json(path, service, intended=intended, open_model=OpenModelTally(target_rps=5.0))
    document = json.loads(path.read_text())
    assert document["unit"] == "ms" and document["significant_figures"] == 3
    entry = document["endpoints"]["GET /api/profile/{id}"]
    for field in ("count", "min_ms", "mean_ms", "max_ms", "p50_ms", "p90_ms", "p95_ms"):
        assert field in entry
    assert {"p99_ms", "p999_ms", "histogram"} <= entry.keys()
    assert set(document["endpoints"]) == {"GET /api/profile/{id}", AGGREGATED}
    assert abs(document["intended"]["Aggregated"]["p50_ms"] - 30.0) <= 0.03  # 3 sig. figures
    assert document["open_model"] == {"target_rps": 5.0}


def test_reset_forgets_what_was_sent() -> None:
    recorder = LatencyRecorder()
    recorder.record("GET /a", 1.0)
    recorder.reset()
    assert recorder.count() == 0 and recorder.summary() == {}
