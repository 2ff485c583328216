"""loadcap's Locust extension: wires the workload, shapes, open model, HDR recording and the
Capacity tab into Locust's events. Importing it installs it (once), so a user's own locustfile
needs one line, `import loadtests.plugin` (docs/own-service.md).

Only the master (or a local runner) writes outputs; workers send their HDR histograms and
open-model counters to it with every stats report.
"""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gevent
import locust
from locust.runners import MasterRunner, WorkerRunner

from loadtests import capacity_tab, windows
from loadtests.arguments import add_arguments, workload_options
from loadtests.errors import LoadTestError
from loadtests.hdr import LatencyRecorder, write_hdr_json
from loadtests.id_range import learn_id_range
from loadtests.mix import action_cycle
from loadtests.open_model import (
    ArrivalCounters,
    ArrivalSchedule,
    OpenModelUser,
    combine,
)
from loadtests.profile_requests import Workload
from loadtests.profiles_user import ProfilesUser, tasks_for
from loadtests.shapes import SHAPES

logger = logging.getLogger("loadcap")
FINAL_WRITE_PAUSE_S = 1.5
HDR_KEY, INTENDED_KEY, ARRIVALS_KEY = "loadcap_hdr", "loadcap_intended", "loadcap_arrivals"


@dataclass
class RunState:
    """This process's share of the run (Locust runs one environment per process)."""

    service: LatencyRecorder = field(default_factory=LatencyRecorder)
    intended: LatencyRecorder = field(default_factory=LatencyRecorder)
    arrivals: ArrivalCounters = field(default_factory=ArrivalCounters)
    worker_arrivals: dict[str, dict[str, Any]] = field(default_factory=dict)

    def reset(self) -> None:
        self.service.reset()
        self.intended.reset()

    def start_over(self) -> None:
        self.reset()
        self.arrivals = ArrivalCounters()
        self.worker_arrivals.clear()


STATE = RunState()


_INSTALLED: set[int] = set()


def install(events: Any = None) -> None:
    """Add loadcap's listeners to Locust's events (by default `locust.events`), once."""
    events = locust.events if events is None else events
    if id(events) in _INSTALLED:
        return
    _INSTALLED.add(id(events))
    events.init_command_line_parser.add_listener(add_arguments)
    events.init.add_listener(on_init)
    events.test_start.add_listener(learn_id_range)  # before on_test_start reads --id-count
    events.test_start.add_listener(on_test_start)
    events.request.add_listener(on_request)
    events.report_to_master.add_listener(on_report_to_master)
    events.worker_report.add_listener(on_worker_report)
    events.reset_stats.add_listener(STATE.reset)
    events.quitting.add_listener(on_quitting)
    windows.install(events)  # after on_quitting, which waits for the workers' last reports


def on_init(environment: Any, runner: Any = None, web_ui: Any = None, **_: Any) -> None:
    options = environment.parsed_options
    if options is None:
        return
    try:
        workload_options(options)  # fail fast, before any user starts
    except LoadTestError as exc:
        sys.stderr.write(f"error: {exc}\n")
        sys.exit(2)
    if isinstance(runner, WorkerRunner):
        # The master decides which class runs; a worker must know both by name.
        if OpenModelUser not in environment.user_classes:
            environment.user_classes = [*environment.user_classes, OpenModelUser]
        return
    if float(options.rps) > 0:
        environment.user_classes = [OpenModelUser]
    _install_shapes(environment, runner, options)
    if options.progress_out:
        gevent.spawn(write_progress_every_second, environment, Path(options.progress_out))
    if web_ui is not None:
        capacity_tab.install(environment, web_ui)
        _keep_common_options_for_shapes(web_ui)


def _keep_common_options_for_shapes(web_ui: Any) -> None:
    """Our shapes read the user count and spawn rate typed in the start form. Locust's form
    hides those fields when a shape is picked unless the *initial* shape uses them, so say so
    after every refresh of its template arguments."""
    refresh = web_ui.update_template_args

    def update_template_args() -> None:
        refresh()
        web_ui.template_args["shape_use_common_options"] = True

    web_ui.update_template_args = update_template_args
    update_template_args()


def _install_shapes(environment: Any, runner: Any, options: Any) -> None:
    pickable = {cls.__name__: cls() for cls in SHAPES.values()}
    for shape in pickable.values():
        shape.runner = runner
    environment.available_shape_classes = pickable
    if options.shape:
        environment.shape_class = pickable[SHAPES[options.shape].__name__]


def write_progress_every_second(environment: Any, path: Path) -> None:
    """The master's live totals for `loadcap run`'s progress line (Locust's own history CSV
    is only flushed every ten seconds)."""
    while True:
        total = environment.runner.stats.total
        p95 = total.get_current_response_time_percentile(0.95) if total.num_requests else None
        live = {
            "requests": total.num_requests,
            "failures": total.num_failures,
            "rps": round(float(total.current_rps or 0.0), 2),
            "p95_ms": p95,
            "users": environment.runner.user_count,
        }
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(live), encoding="utf-8")
        temporary.replace(path)
        gevent.sleep(1.0)


def on_test_start(environment: Any, **_: Any) -> None:
    """Applies the (possibly web-UI-edited) workload options on every node."""
    options = environment.parsed_options
    if options is None:
        return
    # Locust clears its statistics when a new test starts (e.g. a second swarm from the web
    # UI); the exact percentiles and open-model tallies must start over with them.
    STATE.start_over()
    settings = workload_options(options)
    weights = settings.mix.reduced()
    ProfilesUser.tasks = tasks_for(weights)
    ProfilesUser.workload = Workload(
        id_count=settings.id_count, skew=settings.skew, page_limit=settings.page_limit
    )
    runner = environment.runner
    if not isinstance(runner, WorkerRunner):
        users = getattr(runner, "target_user_count", None) or options.num_users or 1
        options.open_model_users = max(1, int(users))
    if float(options.rps) > 0:
        _configure_open_model(options, weights, ProfilesUser.workload)


def _configure_open_model(options: Any, weights: dict[str, int], workload: Workload) -> None:
    per_user_rate = float(options.rps) / max(1, int(getattr(options, "open_model_users", 1)))
    actions = action_cycle(weights)
    OpenModelUser.concurrency = int(options.max_in_flight)

    def schedule_for(user: OpenModelUser) -> ArrivalSchedule:
        return ArrivalSchedule(
            user,
            rate=per_user_rate,
            actions=actions,
            workload=workload,
            intended=STATE.intended,
            counters=STATE.arrivals,
            max_in_flight=int(options.max_in_flight),
            late_s=float(options.late_ms) / 1000.0,
        )

    OpenModelUser.schedule_factory = staticmethod(schedule_for)


def on_request(request_type: str, name: str, response_time: float, **_: Any) -> None:
    STATE.service.record(f"{request_type} {name}", response_time)


def on_report_to_master(client_id: str, data: dict[str, Any]) -> None:
    data[HDR_KEY] = STATE.service.encode()
    data[INTENDED_KEY] = STATE.intended.encode()
    data[ARRIVALS_KEY] = STATE.arrivals.as_dict()
    STATE.reset()  # histograms travel as increments; counters as running totals


def on_worker_report(client_id: str, data: dict[str, Any]) -> None:
    STATE.service.merge_encoded(data.get(HDR_KEY, {}))
    STATE.intended.merge_encoded(data.get(INTENDED_KEY, {}))
    if ARRIVALS_KEY in data:
        STATE.worker_arrivals[client_id] = data[ARRIVALS_KEY]


def on_quitting(environment: Any, **_: Any) -> None:
    options = environment.parsed_options
    if options is None or isinstance(environment.runner, WorkerRunner):
        return
    if options.csv_prefix or options.hdr_out:
        # Locust's CSV writer runs once a second and gets no final call: without this pause
        # the last second of a run (and the workers' last reports) would miss the files.
        gevent.sleep(FINAL_WRITE_PAUSE_S)
    if not options.hdr_out:
        return
    open_model = None
    if float(options.rps) > 0:
        snapshots = (
            list(STATE.worker_arrivals.values())
            if isinstance(environment.runner, MasterRunner)
            else [STATE.arrivals.as_dict()]
        )
        open_model = combine(float(options.rps), snapshots)
    write_hdr_json(
        Path(options.hdr_out),
        STATE.service,
        intended=STATE.intended if open_model is not None else None,
        open_model=open_model,
    )


install()
