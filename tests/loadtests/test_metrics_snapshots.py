"""Snapshots of a real (tiny, local) `/metrics` at start, during and end, on a clock and a
wait between snapshots that the test drives: no wall-clock sleep decides the outcome."""

import csv
import threading
from pathlib import Path

from pipeline.metrics_snapshots import MetricsSnapshots
from tests.loadtests.profiles_double import profiles_double


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Intervals:
    """Stands in for the wait between `during` snapshots: `count` intervals pass at once
    (each moving the clock by `interval_s`), then it ends the snapshots and says so."""

    def __init__(self, count: int, clock: Clock) -> None:
        self.left = count
        self.clock = clock
        self.all_passed = threading.Event()

    def __call__(self, interval_s: float) -> bool:
        if self.left == 0:
            self.all_passed.set()
            return True
        self.left -= 1
        self.clock.now += interval_s
        return False


def read_index(out_dir: Path) -> list[dict[str, str]]:
    with (out_dir / "metrics" / "index.csv").open() as handle:
        return list(csv.DictReader(handle))


def test_snapshots_at_start_during_and_end(tmp_path: Path) -> None:
    clock = Clock()
    intervals = Intervals(2, clock)
    with profiles_double() as url:
        snapshots = MetricsSnapshots(
            url + "/metrics", tmp_path, interval_s=0.2, clock=clock, wait=intervals
        )
        assert snapshots.start()
        # A deadlock guard, not a timing: the thread ends its snapshots by itself.
        assert intervals.all_passed.wait(timeout=30)
        clock.now += 0.05
        snapshots.finish()
    rows = read_index(tmp_path)
    assert [row["phase"] for row in rows] == ["start", "during", "during", "end"]
    assert [float(row["elapsed_s"]) for row in rows] == [0.0, 0.2, 0.4, 0.45]
    assert [row["file"] for row in rows] == [
        "metrics/0001-start.prom",
        "metrics/0002-during.prom",
        "metrics/0003-during.prom",
        "metrics/0004-end.prom",
    ]
    assert list(rows[0]) == ["timestamp", "elapsed_s", "phase", "file"]
    for row in rows:
        assert "loadcap_http_requests_total" in (tmp_path / row["file"]).read_text()


def test_finish_ends_the_wait_between_snapshots(tmp_path: Path) -> None:
    with profiles_double() as url:
        # An hour between snapshots: only finish() can end the wait this soon.
        snapshots = MetricsSnapshots(url + "/metrics", tmp_path, interval_s=3600.0)
        assert snapshots.start()
        snapshots.finish()
    assert [row["phase"] for row in read_index(tmp_path)] == ["start", "end"]
    assert snapshots._thread is not None and not snapshots._thread.is_alive()


def test_target_without_metrics_leaves_no_metrics_directory(tmp_path: Path) -> None:
    with profiles_double(metrics=False) as url:
        snapshots = MetricsSnapshots(url + "/metrics", tmp_path)
        assert not snapshots.start()
        snapshots.finish()
    assert not (tmp_path / "metrics").exists()
