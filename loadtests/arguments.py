"""loadcap's custom Locust arguments: on the command line, in the web UI's start form, and
sent by the master to its workers. `workload_options(parsed)` turns them into a value object."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from capacity.sizing import DEFAULT_TARGET_RPS
from loadtests.data import Skew
from loadtests.stages import STAGE_BUILDERS
from rundir.mix import Mix

SHAPE_NAMES = tuple(STAGE_BUILDERS)  # the shapes are what loadtests.stages can build


def add_arguments(parser: Any) -> None:
    """Listener for `events.init_command_line_parser`."""
    # Locust's parser (not an argument group) knows `include_in_web_ui`.
    group = parser
    group.add_argument(
        "--mix",
        default="80,10,5,5",
        help="Task weights list,get,create,patch (or list=80,get=10,...)",
        include_in_web_ui=True,
    )
    group.add_argument(
        "--id-count",
        type=int,
        default=0,
        help="Seeded profile ids (1..N); 0 = learn the range from the target",
    )
    group.add_argument("--hot-fraction", type=float, default=0.2, help="Share of ids that are hot")
    group.add_argument("--hot-share", type=float, default=0.8, help="Share of draws on hot ids")
    group.add_argument("--page-limit", type=int, default=20, help="Profiles per list page")
    group.add_argument(
        "--no-cookies",
        action="store_true",
        default=False,
        help="Stateless API clients: keep no cookies, so no read-your-writes stickiness",
        include_in_web_ui=True,
    )
    group.add_argument(
        "--capacity-target-rps",
        type=float,
        default=DEFAULT_TARGET_RPS,
        help="Target load for the Capacity tab (req/s)",
    )
    group.add_argument(
        "--capacity-instance-type", default="t3.medium", help="Capacity tab: EC2 instance type"
    )
    group.add_argument(
        "--capacity-utilization", type=float, default=0.7, help="Capacity tab: target CPU share"
    )
    group.add_argument(
        "--capacity-redundancy", type=int, default=1, help="Capacity tab: spare instances"
    )
    _add_shape_arguments(group)
    _add_open_model_arguments(group)
    group.add_argument(
        "--progress-out",
        default="",
        help="Write live totals (JSON) here every second",
        include_in_web_ui=False,
    )
    group.add_argument(
        "--generator-out",
        default="",
        help="Write each Locust process's CPU (generator.csv) here, about once a second",
        include_in_web_ui=False,
    )
    group.add_argument(
        "--metrics-url",
        default="",
        help=(
            "The target's Prometheus metrics for the Capacity tab (default: HOST/metrics); "
            "a Prometheus /federate?match[]=... URL sums every instance it scrapes"
        ),
        include_in_web_ui=False,
    )
    group.add_argument(
        "--hdr-out",
        default="",
        help="Write exact HDR percentiles (hdr.json) here at the end",
        include_in_web_ui=False,
    )


def _add_shape_arguments(group: Any) -> None:
    group.add_argument(
        "--shape",
        default="",
        choices=("", *SHAPE_NAMES),
        help="Load shape (headless); in the web UI use --class-picker",
        include_in_web_ui=False,
    )
    group.add_argument("--shape-seconds", type=float, default=0.0, help="Shape length (s)")
    group.add_argument("--step-users", type=int, default=10, help="Users added per step")
    group.add_argument("--step-seconds", type=float, default=10.0, help="Length of a step (s)")
    group.add_argument("--spike-users", type=int, default=0, help="Users at the spike's top")
    group.add_argument("--spike-at", type=float, default=0.0, help="Spike start (s)")
    group.add_argument("--spike-seconds", type=float, default=0.0, help="Spike length (s)")


def _add_open_model_arguments(group: Any) -> None:
    group.add_argument(
        "--rps",
        type=float,
        default=0.0,
        help="Open model: constant arrival rate (req/s); 0 = off",
        include_in_web_ui=False,
    )
    group.add_argument(
        "--max-in-flight",
        type=int,
        default=200,
        help="Open model: concurrent requests cap",
        include_in_web_ui=False,
    )
    group.add_argument(
        "--late-ms",
        type=float,
        default=10.0,
        help="Open model: a send this late counts as late",
        include_in_web_ui=False,
    )


@dataclass(frozen=True, kw_only=True)
class WorkloadOptions:
    mix: Mix
    id_count: int
    skew: Skew
    page_limit: int


def workload_options(parsed: Any) -> WorkloadOptions:
    return WorkloadOptions(
        mix=Mix.parse(str(parsed.mix)),
        id_count=int(parsed.id_count),
        skew=Skew(hot_fraction=float(parsed.hot_fraction), hot_share=float(parsed.hot_share)),
        page_limit=int(parsed.page_limit),
    )
