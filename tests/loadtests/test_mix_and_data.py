import random
from collections import Counter

import pytest

from loadtests.data import EmailMaker, KeyPicker, Skew
from loadtests.errors import LoadTestError
from rundir.mix import Mix, MixError, action_cycle
from tests.loadtests.locust_process import run_in_locust_process


def test_default_mix_is_the_seed_80_10_5_5() -> None:
    assert Mix().as_dict() == {"list": 80, "get": 10, "create": 5, "patch": 5}
    assert Mix().reduced() == {"list": 16, "get": 2, "create": 1, "patch": 1}


def test_mix_parses_positional_and_named_weights() -> None:
    assert Mix.parse("70,20,5,5").as_dict() == {"list": 70, "get": 20, "create": 5, "patch": 5}
    assert Mix.parse("list=1,patch=1").as_dict() == {"list": 1, "get": 0, "create": 0, "patch": 1}


@pytest.mark.parametrize("text", ["80,10,5", "a,b,c,d", "0,0,0,0", "list=1,delete=2", "-1,1,1,1"])
def test_mix_rejects_bad_weights(text: str) -> None:
    with pytest.raises(MixError):
        Mix.parse(text)


def test_task_list_repeats_tasks_by_weight() -> None:
    names = run_in_locust_process(
        """
        import json
        from collections import Counter
        from rundir.mix import Mix
        from loadtests.profiles_user import tasks_for
        tasks = tasks_for(Mix.parse("6,2,1,1").reduced())
        print(json.dumps(Counter(task.__name__ for task in tasks)))
        """
    )
    assert names == {"list_profiles": 6, "get_profile": 2, "create_profile": 1, "patch_profile": 1}


def test_open_model_cycle_interleaves_actions_in_proportion() -> None:
    cycle = action_cycle(Mix().reduced())
    assert Counter(cycle) == {"list": 16, "get": 2, "create": 1, "patch": 1}
    assert cycle[:3] != ["create", "patch", "get"]  # spread, not grouped by action


def test_hot_set_skew_sends_the_hot_share_to_the_hot_ids() -> None:
    picker = KeyPicker(1000, Skew(hot_fraction=0.1, hot_share=0.7), random.Random(1))
    draws = [picker.pick() for _ in range(20_000)]
    assert min(draws) >= 1 and max(draws) <= 1000
    hot = sum(1 for d in draws if d <= 100) / len(draws)
    assert 0.68 < hot < 0.72


def test_uniform_skew_when_share_equals_fraction() -> None:
    picker = KeyPicker(10, Skew(hot_fraction=0.5, hot_share=0.5), random.Random(2))
    counts = Counter(picker.pick() for _ in range(20_000))
    assert set(counts) == set(range(1, 11))
    assert max(counts.values()) / min(counts.values()) < 1.2


def test_skew_rejects_fractions_out_of_range() -> None:
    with pytest.raises(LoadTestError):
        Skew(hot_fraction=0.0)
    with pytest.raises(LoadTestError):
        Skew(hot_share=1.5)


def test_emails_are_unique_across_makers() -> None:
    makers = [EmailMaker(), EmailMaker()]
    emails = [maker.next() for maker in makers for _ in range(1000)]
    assert len(set(emails)) == len(emails)
