"""Open model: constant arrival rate, latency measured from the intended send time."""

from pathlib import Path

import pytest

from pipeline.runner import RunSettings, run_load_test
from tests.loadtests.profiles_double import profiles_double
from tests.loadtests.run_dir import load_json, locust_rows

pytestmark = pytest.mark.servers  # starts the service, Locust or a browser


def test_achieved_rate_is_within_five_percent_of_target(tmp_path: Path) -> None:
    outcome = run_load_test(RunSettings(out_dir=tmp_path, rps=100, duration_s=6))
    assert outcome.exit_code == 0, outcome.message
    facts = load_json(tmp_path / "run.json")["open_model"]
    assert facts["target_rps"] == 100
    assert abs(facts["achieved_rps"] - 100) <= 5, facts
    assert facts["late_sends"] <= facts["sent"] * 0.05
    hdr = load_json(tmp_path / "hdr.json")
    assert hdr["intended"]["Aggregated"]["count"] == hdr["endpoints"]["Aggregated"]["count"]


def test_queueing_shows_in_intended_latency_but_not_in_service_time(tmp_path: Path) -> None:
    # One request in flight, 50 ms each: at most 20 req/s against a schedule of 40 req/s.
    with profiles_double(delay_s=0.05) as url:
        settings = RunSettings(out_dir=tmp_path, host=url, rps=40, duration_s=5, max_in_flight=1)
        outcome = run_load_test(settings)
    assert outcome.exit_code == 0, outcome.message
    hdr = load_json(tmp_path / "hdr.json")
    service_p95 = float(locust_rows(tmp_path)["Aggregated"]["95%"])
    intended = hdr["intended"]["Aggregated"]
    assert 45 <= service_p95 <= 150  # Locust's own figure stays at the service time
    assert intended["p95_ms"] > 10 * service_p95  # the schedule fell seconds behind
    assert intended["max_ms"] > 1500
    facts = load_json(tmp_path / "run.json")["open_model"]
    assert facts["late_sends"] > facts["sent"] / 2
    assert facts["achieved_rps"] < 25
    assert facts["dropped"] > 0  # sends that were due but never started before the end
