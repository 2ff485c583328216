"""loadcap's custom Locust arguments, defined once: `LocustOptions`.

Each field is one flag (`id_count` is `--id-count`), with its type, default and help. The
same definition is used on both sides of the process boundary: `pipeline/runner.py` builds a
`LocustOptions` and passes `options.argv()` on Locust's command line; inside Locust,
`add_arguments` registers the flags (on the command line, in the web UI's start form, and
sent by the master to its workers) and `LocustOptions.from_namespace(parsed)` reads Locust's
parsed options back into the typed object. `workload_options` turns it into what the users
draw from, `shape_settings` into the numbers of the load shape.

    >>> options = LocustOptions(id_count=500, rps=25.0)
    >>> options.argv()
    ['--id-count', '500', '--rps', '25.0']
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

from capacity.sizing import DEFAULT_REDUNDANCY, DEFAULT_TARGET_RPS, DEFAULT_UTILIZATION
from loadtests.data import Skew
from loadtests.stages import DEFAULT_SHAPE_SECONDS, STAGE_BUILDERS, ShapeSettings
from rundir.mix import Mix

SHAPE_NAMES = tuple(STAGE_BUILDERS)  # the shapes are what loadtests.stages can build

_T = TypeVar("_T", str, int, float, bool)
_FLAG = "loadcap_flag"


@dataclass(frozen=True)
class Flag:
    """How a field appears on Locust's command line and in its web UI."""

    help: str
    web_ui: bool = True  # Locust's include_in_web_ui
    choices: tuple[str, ...] | None = None


def _flag(default: _T, help: str, *, web_ui: bool = True, choices: tuple[str, ...] = ()) -> _T:
    flag = Flag(help, web_ui, choices or None)
    value: _T = field(default=default, metadata={_FLAG: flag})
    return value


@dataclass(frozen=True, kw_only=True)
class LocustOptions:
    """What loadcap tells a Locust run beyond Locust's own flags."""

    mix: str = _flag("80,10,5,5", "Task weights list,get,create,patch (or list=80,get=10,...)")
    id_count: int = _flag(0, "Seeded profile ids (1..N); 0 = learn the range from the target")
    hot_fraction: float = _flag(0.2, "Share of ids that are hot")
    hot_share: float = _flag(0.8, "Share of draws on hot ids")
    page_limit: int = _flag(20, "Profiles per list page")
    no_cookies: bool = _flag(
        False, "Stateless API clients: keep no cookies, so no read-your-writes stickiness"
    )
    capacity_target_rps: float = _flag(
        DEFAULT_TARGET_RPS, "Target load for the Capacity tab (req/s)"
    )
    capacity_instance_type: str = _flag("t3.medium", "Capacity tab: EC2 instance type")
    capacity_utilization: float = _flag(DEFAULT_UTILIZATION, "Capacity tab: target CPU share")
    capacity_redundancy: int = _flag(DEFAULT_REDUNDANCY, "Capacity tab: spare instances")
    # Load shapes
    shape: str = _flag(
        "",
        "Load shape (headless); in the web UI use --class-picker",
        web_ui=False,
        choices=("", *SHAPE_NAMES),
    )
    shape_seconds: float = _flag(0.0, "Shape length (s)")
    step_users: int = _flag(10, "Users added per step")
    step_seconds: float = _flag(10.0, "Length of a step (s)")
    spike_users: int = _flag(0, "Users at the spike's top")
    spike_at: float = _flag(0.0, "Spike start (s)")
    spike_seconds: float = _flag(0.0, "Spike length (s)")
    # The open model
    rps: float = _flag(0.0, "Open model: constant arrival rate (req/s); 0 = off", web_ui=False)
    max_in_flight: int = _flag(200, "Open model: concurrent requests cap", web_ui=False)
    late_ms: float = _flag(10.0, "Open model: a send this late counts as late", web_ui=False)
    # Where the run's outputs go
    progress_out: str = _flag("", "Write live totals (JSON) here every second", web_ui=False)
    generator_out: str = _flag(
        "",
        "Write each Locust process's CPU (generator.csv) here, about once a second",
        web_ui=False,
    )
    metrics_url: str = _flag(
        "",
        "The target's Prometheus metrics for the Capacity tab (default: HOST/metrics); "
        "a Prometheus /federate?match[]=... URL sums every instance it scrapes",
        web_ui=False,
    )
    hdr_out: str = _flag("", "Write exact HDR percentiles (hdr.json) here at the end", web_ui=False)
    windows_out: str = _flag(
        "", "Write per-second samples (windows.json) here at the end", web_ui=False
    )

    def argv(self) -> list[str]:
        """Every setting as a flag, so a `locust.conf` in the working directory cannot
        override what the run was given; a switch when on, a path when set."""
        command: list[str] = []
        for spec in fields(self):
            value = getattr(self, spec.name)
            if isinstance(value, bool):
                command += [_option(spec.name)] if value else []
            elif value != "":
                command += [_option(spec.name), str(value)]
        return command

    @classmethod
    def from_namespace(cls, parsed: Any) -> LocustOptions:
        """Locust's parsed options (flags, or as edited in the web UI's form) read back into
        the typed object; a value missing or None is the default."""
        values: dict[str, Any] = {}
        for spec in fields(cls):
            default: Any = spec.default  # every field has one: a str, int, float or bool
            raw = getattr(parsed, spec.name, None)
            values[spec.name] = default if raw is None else type(default)(raw)
        return cls(**values)


def _option(name: str) -> str:
    return "--" + name.replace("_", "-")


def add_arguments(parser: Any) -> None:
    """Listener for `events.init_command_line_parser`: one flag per `LocustOptions` field."""
    # Locust's parser (not an argument group) knows `include_in_web_ui`.
    for spec in fields(LocustOptions):
        flag: Flag = spec.metadata[_FLAG]
        extra: dict[str, Any] = {"include_in_web_ui": flag.web_ui}
        if flag.choices is not None:
            extra["choices"] = flag.choices
        if isinstance(spec.default, bool):
            extra.update(action="store_true")
        elif not isinstance(spec.default, str):
            extra.update(type=type(spec.default))
        parser.add_argument(_option(spec.name), default=spec.default, help=flag.help, **extra)


@dataclass(frozen=True, kw_only=True)
class WorkloadOptions:
    mix: Mix
    id_count: int
    skew: Skew
    page_limit: int


def workload_options(options: LocustOptions) -> WorkloadOptions:
    return WorkloadOptions(
        mix=Mix.parse(options.mix),
        id_count=options.id_count,
        skew=Skew(hot_fraction=options.hot_fraction, hot_share=options.hot_share),
        page_limit=options.page_limit,
    )


def shape_settings(parsed: Any) -> ShapeSettings:
    """Shape numbers from Locust's parsed options (headless flags or the web UI form): ours
    through `LocustOptions`, the user count, spawn rate and run time from Locust's own."""
    if parsed is None:
        return ShapeSettings()
    options = LocustOptions.from_namespace(parsed)
    run_time = getattr(parsed, "run_time", None)
    return ShapeSettings(
        total_s=float(options.shape_seconds or run_time or DEFAULT_SHAPE_SECONDS),
        users=int(getattr(parsed, "num_users", None) or 10),
        spawn_rate=float(getattr(parsed, "spawn_rate", None) or 10),
        step_users=options.step_users,
        step_seconds=options.step_seconds,
        spike_users=options.spike_users,
        spike_at=options.spike_at,
        spike_seconds=options.spike_seconds,
    )
