import csv
import time
from pathlib import Path

from pipeline.metrics_snapshots import MetricsSnapshots
from tests.loadtests.profiles_double import profiles_double


def test_snapshots_at_start_during_and_end(tmp_path: Path) -> None:
    with profiles_double() as url:
        snapshots = MetricsSnapshots(url + "/metrics", tmp_path, interval_s=0.2)
        assert snapshots.start()
        time.sleep(0.7)
        snapshots.finish()
    with (tmp_path / "metrics" / "index.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    phases = [row["phase"] for row in rows]
    assert phases[0] == "start" and phases[-1] == "end" and "during" in phases
    assert list(rows[0]) == ["timestamp", "elapsed_s", "phase", "file"]
    for row in rows:
        assert "loadcap_http_requests_total" in (tmp_path / row["file"]).read_text()
    assert float(rows[-1]["elapsed_s"]) > float(rows[0]["elapsed_s"])


def test_target_without_metrics_leaves_no_metrics_directory(tmp_path: Path) -> None:
    with profiles_double(metrics=False) as url:
        snapshots = MetricsSnapshots(url + "/metrics", tmp_path)
        assert not snapshots.start()
        snapshots.finish()
    assert not (tmp_path / "metrics").exists()
