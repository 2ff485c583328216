"""One traffic mix for the load generator, the report and the plan: weights by action, the
request each action sends, and the shares a plan sizes for."""

from __future__ import annotations

import pytest

from rundir.mix import ENDPOINT_NAMES, Mix, MixError
from rundir.units import UnitError


def test_each_action_is_named_as_locust_reports_its_request() -> None:
    assert ENDPOINT_NAMES == {
        "list": "GET /api/profiles",
        "get": "GET /api/profile/{id}",
        "create": "POST /api/profiles",
        "patch": "PATCH /api/profile/{id}",
    }


def test_the_seed_mix_is_80_10_5_5_in_shares_and_label() -> None:
    mix = Mix()
    assert mix.shares() == {"list": 0.80, "get": 0.10, "create": 0.05, "patch": 0.05}
    assert (mix.read_share, mix.write_share) == (0.80 + 0.10, 0.05 + 0.05)
    assert mix.label() == "80/10/5/5 (list/get/create/patch)"


def test_a_bad_mix_is_a_user_error_with_a_message_naming_it() -> None:
    with pytest.raises(UnitError, match="mix needs 4 weights"):
        Mix.parse("80,10,5")
    with pytest.raises(MixError, match="must be >= 0 and not all zero"):
        Mix(list=0, get=0, create=0, patch=0)


def test_endpoint_shares_leave_other_endpoints_out_of_the_mix() -> None:
    observed = {"GET /api/profiles": 0.6, "GET /api/profile/{id}": 0.2, "GET /health": 0.2}
    mix = Mix.from_endpoint_shares(observed)
    assert mix.shares() == pytest.approx({"list": 0.75, "get": 0.25, "create": 0, "patch": 0})
    with pytest.raises(MixError, match="none of the profile endpoints"):
        Mix.from_endpoint_shares({"GET /health": 1.0})


def test_observed_shares_are_not_reduced_to_task_weights() -> None:
    with pytest.raises(MixError, match="whole numbers"):
        Mix(list=0.9, get=0.1, create=0, patch=0).reduced()
