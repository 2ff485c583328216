"""loadcap's Locust options have one typed definition: the argv `loadcap run` builds from it,
parsed by Locust's own parser with the flags registered from it, reads back into the same
object, so a renamed or retyped flag breaks here and in mypy, not in a long subprocess run."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path
from types import SimpleNamespace
from typing import Any, get_type_hints

import pytest

from loadtests.arguments import LocustOptions
from pipeline.runner import RunSettings, locust_command, locust_options
from rundir.mix import Mix
from tests.loadtests.locust_process import run_in_locust_process

HOST = "http://127.0.0.1:1"
EVERY_FIELD_CHANGED = LocustOptions(
    mix="50,30,10,10", id_count=123, hot_fraction=0.1, hot_share=0.9, page_limit=7,
    no_cookies=True, capacity_target_rps=2500.5, capacity_instance_type="c7g.large",
    capacity_utilization=0.6, capacity_redundancy=2, shape="step", shape_seconds=90.0,
    step_users=5, step_seconds=15.0, spike_users=40, spike_at=10.0, spike_seconds=5.0,
    rps=33.3, max_in_flight=50, late_ms=20.0, progress_out="/tmp/p.json",
    generator_out="/tmp/g.csv", metrics_url="http://127.0.0.1:1/metrics",
    hdr_out="/tmp/hdr.json", windows_out="/tmp/windows.json",
)  # fmt: skip
RUNS: dict[str, dict[str, Any]] = {
    "step": {"users": 10, "duration_s": 120, "shape": "step", "step_seconds": 15},
    "open_model": {"rps": 40.0, "max_in_flight": 80, "cookies": False},
    "mix": {"users": 3, "mix": Mix.parse("70,20,5,5"), "id_count": 900},
}
# Locust's own parser (no config files: the test must not read the machine's) with the flags
# registered from LocustOptions; importing Locust patches gevent in, so in a child process.
PARSE = """
import json
from locust.argument_parser import get_parser
from loadtests.arguments import add_arguments

parsed = {}
for key, argv in json.loads(ARGVS).items():
    parser = get_parser(default_config_files=[])
    add_arguments(parser)
    namespace, _ = parser.parse_known_args(argv)
    parsed[key] = {name: getattr(namespace, name) for name in json.loads(NAMES)}
print(json.dumps(parsed))
"""


@pytest.fixture(scope="module")
def parsed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, LocustOptions]:
    out = tmp_path_factory.mktemp("run")
    argvs = {"none": [], "every_field": EVERY_FIELD_CHANGED.argv()}
    for key, settings in RUNS.items():
        argvs[key] = locust_command(RunSettings(out_dir=out, **settings), HOST, 900)[3:]
    names = [spec.name for spec in fields(LocustOptions)]
    given = f"NAMES = {json.dumps(names)!r}\nARGVS = {json.dumps(argvs)!r}\n"
    result = run_in_locust_process(given + PARSE)
    return {key: LocustOptions.from_namespace(SimpleNamespace(**v)) for key, v in result.items()}


def test_the_defaults_are_locusts_defaults(parsed: dict[str, LocustOptions]) -> None:
    assert parsed["none"] == LocustOptions()


def test_every_setting_is_explicit_so_a_locust_conf_cannot_override_it() -> None:
    argv = LocustOptions().argv()
    assert "--id-count" in argv and "--step-users" in argv and "--max-in-flight" in argv
    assert "--no-cookies" not in argv  # a switch appears only when on
    assert "--hdr-out" not in argv  # an unset path is left out


def test_every_field_round_trips_through_locusts_parser(parsed: dict[str, LocustOptions]) -> None:
    default = LocustOptions()
    assert all(
        getattr(EVERY_FIELD_CHANGED, spec.name) != getattr(default, spec.name)
        for spec in fields(LocustOptions)
    ), "every field differs from its default, so every flag is on the command line"
    assert parsed["every_field"] == EVERY_FIELD_CHANGED


@pytest.mark.parametrize("run", list(RUNS))
def test_what_loadcap_run_asks_is_what_locust_reads(
    parsed: dict[str, LocustOptions], run: str
) -> None:
    out = Path(parsed[run].hdr_out).parent
    asked = locust_options(RunSettings(out_dir=out, **RUNS[run]), HOST, 900)
    assert parsed[run] == asked
    assert parsed[run].hdr_out == str(out / "hdr.json")
    assert parsed[run].windows_out == str(out / "windows.json")


def test_the_step_shape_gets_the_users_and_step_length_given(
    parsed: dict[str, LocustOptions],
) -> None:
    step = parsed["step"]
    assert (step.shape, step.step_users, step.step_seconds, step.shape_seconds) == (
        "step", 10, 15.0, 120.0,
    )  # fmt: skip


def test_a_value_missing_or_none_reads_as_the_default() -> None:
    assert LocustOptions.from_namespace(SimpleNamespace(metrics_url=None)) == LocustOptions()


def test_each_default_has_its_fields_type_which_reading_converts_to() -> None:
    hints = get_type_hints(LocustOptions)
    assert {spec.name: type(spec.default) for spec in fields(LocustOptions)} == hints
