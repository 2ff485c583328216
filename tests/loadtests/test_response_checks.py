"""Responses are judged by status *and* body shape: a 200 with the wrong body is a failure."""

import csv
from pathlib import Path

import pytest

from pipeline.runner import RunSettings, run_load_test
from tests.loadtests.profiles_double import profiles_double
from tests.loadtests.run_dir import locust_rows

pytestmark = pytest.mark.servers  # starts the service, Locust or a browser


def test_a_200_with_a_wrong_body_counts_as_a_failure(tmp_path: Path) -> None:
    # One profile comes back as a bare string id: status 200, but not a profile.
    with profiles_double(body_for_one={"id": "1", "name": "no email"}) as url:
        outcome = run_load_test(RunSettings(out_dir=tmp_path, host=url, users=2, duration_s=3))
    assert outcome.exit_code == 1, outcome.message
    rows = locust_rows(tmp_path)
    for name in ("GET /api/profile/{id}", "PATCH /api/profile/{id}"):
        assert int(rows[name]["Request Count"]) > 0, name
        assert rows[name]["Failure Count"] == rows[name]["Request Count"], name
    for name in ("GET /api/profiles", "POST /api/profiles"):
        assert int(rows[name]["Request Count"]) > 0, name
        assert rows[name]["Failure Count"] == "0", name
    with (tmp_path / "locust_failures.csv").open(newline="") as handle:
        errors = {row["Error"] for row in csv.DictReader(handle)}
    assert errors and all("wrong shape" in error for error in errors), errors
