"""windows.json's recorder: exact per-second facts, a bounded memory over a long run."""

from __future__ import annotations

import json
from pathlib import Path

from loadtests.windows import SEAL_AFTER_S, WindowRecorder, windows_document, write_windows_json
from rundir.hdr_json import AGGREGATED as TOTAL
from rundir.windows_json import WINDOWS_FILE, read_windows


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def record_run(recorder: WindowRecorder, clock: Clock, seconds: int) -> None:
    for second in range(seconds):
        clock.now = 1000.0 + second + 0.5
        for i in range(20):
            recorder.record("GET /a", float(second % 7 + i), failed=i == 0)
            recorder.record("POST /b", float(i * 3), failed=False)


def keep_unsealed(recorder: WindowRecorder, seconds: int) -> None:
    """What `record_run` records, put straight into the recorder's live windows, unsealed."""
    for second in range(seconds):
        for i in range(20):
            recorder.times[second]["GET /a"].append(float(second % 7 + i))
            recorder.times[second]["POST /b"].append(float(i * 3))
            if i == 0:
                recorder.failures[second]["GET /a"] += 1


def test_a_long_run_keeps_only_the_last_minute_of_response_times_and_the_same_facts() -> None:
    clock = Clock()
    sealing = WindowRecorder(clock)
    record_run(sealing, clock, 600)

    assert len(sealing.times) <= SEAL_AFTER_S + 2  # not 600 seconds of samples
    assert len(sealing.sealed) >= 600 - SEAL_AFTER_S - 2

    # The same samples, summarised at the end without sealing, give the same figures.
    whole = WindowRecorder(clock)
    whole.started = sealing.started
    keep_unsealed(whole, 600)
    assert sealing.summary() == whole.summary()
    first = sealing.summary()["windows"][0]["scopes"]
    assert first[TOTAL]["requests"] == 40 and first[TOTAL]["failures"] == 1


def test_a_workers_samples_merge_on_the_masters_clock_and_late_ones_still_count() -> None:
    clock = Clock()
    master = WindowRecorder(clock)
    worker = WindowRecorder(clock)
    clock.now = 1002.5  # the worker started 2 s after the master
    worker.start_over()
    worker.record("GET /a", 5.0, failed=False)
    master.merge(worker.take())
    assert master.summary()["windows"][0]["start_s"] == 2.0

    clock.now = 1002.5 + SEAL_AFTER_S + 5
    master.merge({"started": master.started, "times": {}, "failures": {}})  # seals second 2
    assert 2 in master.sealed
    master.merge({"started": master.started, "times": {"2": {"GET /a": [9.0]}},
                  "failures": {"2": {"GET /a": 1}}})  # fmt: skip
    facts = master.summary()
    second = facts["windows"][0]["scopes"]
    assert second[TOTAL]["requests"] == 2 and second["GET /a"]["failures"] == 1
    assert second["GET /a"]["p99_ms"] == 5.0  # the late sample did not move the percentiles
    assert facts["late"] == 1


def test_sealed_windows_write_the_same_json_text_as_unsealed_ones() -> None:
    # Sealed windows are stored compactly; what windows.json holds must not change: the
    # scopes in the same order, the counts still ints, a late sample's new scope last.
    clock = Clock()
    sealing, whole = WindowRecorder(clock), WindowRecorder(clock)
    record_run(sealing, clock, 200)
    keep_unsealed(whole, 200)
    late = {"started": sealing.started, "times": {"3": {"GET /late": [1.0, 2.0]}},
            "failures": {"3": {"GET /late": 1}}}  # fmt: skip
    assert 3 in sealing.sealed
    sealing.merge(late)
    whole.times[3]["GET /late"] = []  # what a late sample leaves: counted, no percentiles
    whole.failures[3]["GET /late"] = 1
    expected = whole.summary()
    expected["windows"][3]["scopes"][TOTAL]["requests"] += 2
    expected["windows"][3]["scopes"]["GET /late"]["requests"] += 2
    expected["late"] = 2
    assert json.dumps(sealing.summary()) == json.dumps(expected)


def test_windows_json_is_written_through_its_schema_and_reads_back_equal(tmp_path: Path) -> None:
    clock = Clock()
    recorder = WindowRecorder(clock)
    record_run(recorder, clock, int(SEAL_AFTER_S) + 30)  # sealed and live windows
    path = tmp_path / WINDOWS_FILE
    write_windows_json(path, recorder)
    assert read_windows(path) == windows_document(recorder)
    assert read_windows(path).windows[0].total.requests == 40
    written = json.loads(path.read_text(encoding="utf-8"))
    assert "late" not in written  # present only when a sample was late
    assert written["windows"][0]["scopes"][TOTAL]["requests"] == 40
