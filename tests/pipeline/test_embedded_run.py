"""One headless run against the embedded reference service, checked several ways."""

from pathlib import Path

import pytest
from hdrh.histogram import HdrHistogram

from pipeline.runner import RunSettings, run_load_test
from tests.loadtests.run_dir import FOUR_ENDPOINTS, load_json, locust_rows

pytestmark = pytest.mark.servers  # starts the service, Locust or a browser

SEED_MIX = {
    "GET /api/profiles": 0.80,
    "GET /api/profile/{id}": 0.10,
    "POST /api/profiles": 0.05,
    "PATCH /api/profile/{id}": 0.05,
}


@pytest.fixture(scope="module")
def embedded_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("embedded-run")
    settings = RunSettings(out_dir=out, users=40, spawn_rate=40, duration_s=10)
    outcome = run_load_test(settings)
    assert outcome.exit_code == 0, outcome.message
    return out


def test_observed_mix_is_80_10_5_5_within_two_points(embedded_run: Path) -> None:
    rows = locust_rows(embedded_run)
    total = int(rows["Aggregated"]["Request Count"])
    assert total >= 2000
    assert int(rows["Aggregated"]["Failure Count"]) == 0
    assert set(rows) - {"Aggregated"} == FOUR_ENDPOINTS
    for name, share in SEED_MIX.items():
        observed = int(rows[name]["Request Count"]) / total
        assert abs(observed - share) <= 0.02, (name, observed)


def test_hdr_percentiles_agree_with_locust_within_its_rounding(embedded_run: Path) -> None:
    rows = locust_rows(embedded_run)
    hdr = load_json(embedded_run / "hdr.json")["endpoints"]
    assert set(hdr) == set(rows)
    for name, row in rows.items():
        count = hdr[name]["count"]
        assert count == int(row["Request Count"]), name
        histogram = HdrHistogram.decode(hdr[name]["histogram"].encode())
        for column, percentile in (("50%", 50.0), ("95%", 95.0), ("99%", 99.0)):
            # Locust and HDR may pick neighbouring samples for a percentile's rank; beyond
            # that, they differ only by Locust's rounding to 2 significant digits.
            rank_step = 100.0 / count
            low = histogram.get_value_at_percentile(max(0.0, percentile - rank_step)) / 1000
            high = histogram.get_value_at_percentile(min(100.0, percentile + rank_step)) / 1000
            exact = hdr[name][f"p{int(percentile)}_ms"]
            assert low <= exact <= high
            locust_ms = float(row[column])
            assert low - _rounding(low) <= locust_ms <= high + _rounding(high), (name, column)


def _rounding(ms: float) -> float:
    """Locust keeps 2 significant digits: 1 ms below 100 ms, 10 ms below 1 s, then 100 ms."""
    return 1.0 if ms < 100 else 10.0 if ms < 1000 else 100.0


def test_run_json_records_what_was_asked_and_the_embedded_service(embedded_run: Path) -> None:
    record = load_json(embedded_run / "run.json")
    assert record["embedded_service"] is True
    assert record["host"].startswith("http://127.0.0.1:")
    assert record["users"] == 40 and record["processes"] == 1 and record["shape"] is None
    assert record["mix"] == {"list": 80, "get": 10, "create": 5, "patch": 5}
    assert record["exit_code"] == 0 and record["open_model"] is None
    assert 10 <= record["elapsed_s"] < 30


def test_locust_outputs_and_metrics_snapshots_are_in_the_run_directory(embedded_run: Path) -> None:
    for name in (
        "locust_stats.csv",
        "locust_stats_history.csv",
        "locust_failures.csv",
        "locust_exceptions.csv",
        "locust_report.html",
        "hdr.json",
        "metrics/index.csv",
    ):
        assert (embedded_run / name).is_file(), name
    index = (embedded_run / "metrics" / "index.csv").read_text().splitlines()
    phases = [line.split(",")[2] for line in index[1:]]
    assert phases[0] == "start" and phases[-1] == "end" and "during" in phases
    history = (embedded_run / "locust_stats_history.csv").read_text()
    assert "/api/profile/{id}" in history  # full history: per-endpoint rows, not only totals
