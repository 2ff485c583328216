"""Clients keep the service's read-your-writes cookie (browser-like) unless `--no-cookies`
makes them stateless API clients: with replicas, this decides where their reads go."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.runner import RunSettings, run_load_test
from tests.loadtests.profiles_double import profiles_double

pytestmark = pytest.mark.servers  # starts the service, Locust or a browser


@pytest.mark.parametrize("cookies", [True, False])
def test_reads_carry_the_write_cookie_only_when_clients_keep_cookies(
    tmp_path: Path, cookies: bool
) -> None:
    seen: dict[str, int] = {}
    with profiles_double(seen=seen) as url:
        settings = RunSettings(out_dir=tmp_path, host=url, users=4, duration_s=3, cookies=cookies)
        outcome = run_load_test(settings)
    assert outcome.exit_code == 0, outcome.message
    assert seen["reads"] > 100
    if cookies:  # after its first write, every read of a user sends the cookie back
        assert seen["reads_with_cookie"] > seen["reads"] * 0.5
    else:
        assert seen["reads_with_cookie"] == 0
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["cookies"] is cookies
