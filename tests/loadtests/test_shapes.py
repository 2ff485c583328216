import pytest

from loadtests.arguments import SHAPE_NAMES
from loadtests.errors import LoadTestError
from loadtests.stages import STAGE_BUILDERS, ShapeSettings, spike_stages, stage_at, step_stages
from tests.loadtests.locust_process import run_in_locust_process

# tick() of the real LoadTestShape classes at given run times; the start time is moved back
# instead of sleeping. Runs in a child process because importing Locust patches gevent in.
TICKS = """
import json
from loadtests.shapes import SHAPES
from loadtests.stages import ShapeSettings

def ticks(kind, settings, seconds):
    shape = SHAPES[kind](ShapeSettings(**settings))
    out = []
    for elapsed in seconds:
        shape.reset_time()
        shape.start_time -= elapsed
        out.append(shape.tick())
    return out

print(json.dumps({
    "step": ticks("step", dict(total_s=30, step_users=5, step_seconds=10, spawn_rate=5),
                  [0, 9.9, 10, 25, 29.9, 30]),
    "spike": ticks("spike", dict(total_s=30, users=4, spike_users=40, spike_at=10,
                                 spike_seconds=5), [0, 10, 14.9, 15, 29, 30]),
    "spike_default": ticks("spike", dict(total_s=60, users=10), [19, 21, 31]),
    "soak": ticks("soak", dict(total_s=20, users=7, spawn_rate=2), [0, 10, 19.9, 20]),
    "abstract_base_hidden": SHAPES["step"].__mro__[1].abstract,
    "kinds": sorted(SHAPES),
}))
"""


@pytest.fixture(scope="module")
def ticks() -> dict[str, object]:
    result = run_in_locust_process(TICKS)
    assert isinstance(result, dict)
    return result


def test_step_shape_adds_users_every_step_then_stops(ticks: dict[str, object]) -> None:
    assert ticks["step"] == [[5, 5.0], [5, 5.0], [10, 5.0], [15, 5.0], [15, 5.0], None]


def test_spike_shape_bursts_then_returns_to_base(ticks: dict[str, object]) -> None:
    assert ticks["spike"] == [[4, 10.0], [40, 40.0], [40, 40.0], [4, 40.0], [4, 40.0], None]


def test_spike_defaults_to_five_times_base_in_the_middle_third(ticks: dict[str, object]) -> None:
    assert ticks["spike_default"] == [[10, 10.0], [50, 50.0], [10, 50.0]]


def test_soak_shape_holds_a_plateau_for_its_length(ticks: dict[str, object]) -> None:
    assert ticks["soak"] == [[7, 2.0], [7, 2.0], [7, 2.0], None]


def test_base_shape_is_not_offered_by_locust(ticks: dict[str, object]) -> None:
    assert ticks["abstract_base_hidden"] is True


def test_step_stages_cover_the_run_without_gaps() -> None:
    stages = step_stages(ShapeSettings(total_s=25, step_users=10, step_seconds=10))
    assert [(s.start_s, s.end_s, s.users) for s in stages] == [
        (0, 10, 10),
        (10, 20, 20),
        (20, 25, 30),
    ]
    assert stage_at(stages, 24.9) == (30, 10.0)
    assert stage_at(stages, 25) is None


def test_spike_that_outlasts_the_run_is_rejected() -> None:
    with pytest.raises(LoadTestError):
        spike_stages(ShapeSettings(total_s=10, spike_at=8, spike_seconds=5))


def test_every_shape_the_stages_build_is_a_locust_shape_and_a_choice(
    ticks: dict[str, object],
) -> None:
    assert (
        ticks["kinds"] == sorted(STAGE_BUILDERS) == sorted(SHAPE_NAMES) == ["soak", "spike", "step"]
    )
