"""A distributed run keeps the requests of its last seconds: workers whose final report comes
after Locust's 0.5 s wait at the end still reach every figure the master writes."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from pipeline.runner import RunSettings, run_load_test
from reports import service_metrics
from reports.load import load_run_data
from tests.loadtests.run_dir import load_json, locust_rows

pytestmark = pytest.mark.servers  # starts the service, Locust or a browser

LATE_LOCUSTFILE = Path(__file__).with_name("late_worker_locustfile.py")
USERS = 4


def test_late_final_worker_reports_are_counted(tmp_path: Path) -> None:
    settings = RunSettings(
        out_dir=tmp_path, users=USERS, duration_s=4, processes=2, locustfile=LATE_LOCUSTFILE
    )
    outcome = run_load_test(settings)
    assert outcome.exit_code == 0, outcome.message

    data = load_run_data(tmp_path)
    assert data.windows is not None and data.snapshots is not None
    counted = int(locust_rows(tmp_path)["Aggregated"]["Request Count"])
    served = service_metrics.counter_increase(
        data.snapshots, service_metrics.REQUESTS, -math.inf, math.inf
    )
    assert served is not None
    assert int(data.windows["requests"].sum()) == counted
    assert load_json(tmp_path / "hdr.json")["endpoints"]["Aggregated"]["count"] == counted
    # Only the requests the stop cut off (one per user at most) are the service's alone.
    assert 0 <= served - counted <= USERS
    assert "sent no final report" not in (tmp_path / "locust.log").read_text()
