"""loadcap's Locust extension: wires the workload, shapes, open model, HDR recording and the
Capacity tab into Locust's events. Importing it installs it (once), so a user's own locustfile
needs one line, `import loadtests.plugin` (docs/own-service.md).

Installing adds listeners and holds no run state: Locust's `init` makes the process's
`RunState` (one per environment, so two environments in one process share nothing), and binds
the request listener, the hot path, straight to its buffer. The other listeners are added at
install because their order against Locust's own matters: `quitting` fires in reverse, so ours
run after a master's runner has asked its workers for their last reports.

Only the master (or a local runner) writes outputs; workers send their HDR histograms,
windows and open-model counters to it with every stats report.
"""

from __future__ import annotations

import json
import logging
import sys
import time
import urllib.error
import urllib.request
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gevent
import locust
from flask import Response
from locust.runners import STATE_RUNNING, STATE_SPAWNING, MasterRunner, WorkerRunner

from loadtests import capacity_tab, final_reports, prometheus_metrics
from loadtests.arguments import LocustOptions, add_arguments, workload_options
from loadtests.errors import LoadTestError
from loadtests.generator_cpu import (
    MACHINE,
    SAMPLE_INTERVAL_S,
    CpuSampler,
    GeneratorLog,
    MachineSampler,
    decode_samples,
)
from loadtests.hdr import LatencyRecorder, write_hdr_json
from loadtests.id_range import learn_id_range
from loadtests.live_capacity import (
    SCRAPE_INTERVAL_S,
    GeneratorCpuWatch,
    ServiceCpuWatch,
    parse_service_samples,
)
from loadtests.open_model import (
    ArrivalCounters,
    ArrivalSchedule,
    OpenModelUser,
    combine,
)
from loadtests.profile_requests import Workload
from loadtests.profiles_user import ProfilesUser, tasks_for
from loadtests.prometheus_metrics import RequestCounts
from loadtests.request_buffer import FOLD_INTERVAL_S, Destinations, RequestBuffer
from loadtests.shapes import SHAPES
from loadtests.windows import WINDOWS_KEY, WindowRecorder, write_windows_json
from rundir.exposition import ExpositionError
from rundir.mix import MixError, action_cycle

logger = logging.getLogger("loadcap")
FINAL_WRITE_PAUSE_S = 1.5
HDR_KEY, INTENDED_KEY, ARRIVALS_KEY = "loadcap_hdr", "loadcap_intended", "loadcap_arrivals"
CPU_KEY = "loadcap_cpu"
COUNTS_KEY = "loadcap_request_counts"


@dataclass
class RunState:
    """This process's share of the run, made at Locust's `init` (one per environment)."""

    service: LatencyRecorder = field(default_factory=LatencyRecorder)
    intended: LatencyRecorder = field(default_factory=LatencyRecorder)
    arrivals: ArrivalCounters = field(default_factory=ArrivalCounters)
    worker_arrivals: dict[str, dict[str, Any]] = field(default_factory=dict)
    cpu: CpuSampler = field(default_factory=CpuSampler)
    machine: MachineSampler = field(default_factory=MachineSampler)
    generator_log: GeneratorLog | None = None
    generator_live: GeneratorCpuWatch = field(default_factory=GeneratorCpuWatch)
    requests: RequestCounts = field(default_factory=RequestCounts)  # for /metrics; never reset
    test_started_at: float | None = None  # unix time of the last test_start
    windows: WindowRecorder = field(default_factory=WindowRecorder)
    # The request listener's only work; folded into the records above before they are read.
    buffer: RequestBuffer = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.buffer = RequestBuffer(self.destinations, clock=self.windows.clock)

    def destinations(self) -> Destinations:
        return Destinations(self.service, self.requests, self.windows)

    def reset(self) -> None:
        self.service.reset()
        self.intended.reset()

    def start_over(self) -> None:
        self.reset()
        self.arrivals = ArrivalCounters()
        self.worker_arrivals.clear()


Listener = Callable[..., None]


def request_listener(note: Callable[[str, str, float, bool], None]) -> Listener:
    """Locust's `request` listener, noting each request with `note` (a `RequestBuffer.add`)."""

    def on_request(
        request_type: str,
        name: str,
        response_time: float,
        response_length: int = 0,
        exception: Any = None,
        context: Any = None,
        url: Any = None,
        response: Any = None,
        start_time: Any = None,
        **_: Any,
    ) -> None:
        """Every request, in every Locust process (the generator's hot path): noted for its
        exact histogram, its second's window and the Prometheus counts, folded in later.
        Locust's arguments are named so that calling this builds no dict of the unused ones
        (0.3 µs a request); `**_` keeps it working when Locust adds one."""
        note(request_type, name, response_time, exception is not None)

    return on_request


class Plugin:
    """loadcap's listeners on one `Events`, and the run state they share, made at `init`."""

    def __init__(self) -> None:
        self._state: RunState | None = None
        self._on_request: Listener | None = None

    @property
    def state(self) -> RunState:
        if self._state is None:
            raise RuntimeError("loadcap's plugin has no run state before Locust's init event")
        return self._state

    def on_init(self, environment: Any, runner: Any = None, web_ui: Any = None, **_: Any) -> None:
        state = self._state = RunState()
        requests = environment.events.request
        if self._on_request is not None:  # initialised again: the old state gets no more
            requests.remove_listener(self._on_request)
        self._on_request = request_listener(state.buffer.add)
        requests.add_listener(self._on_request)
        if environment.parsed_options is not None:
            start(environment, runner, web_ui, state)

    def on_test_start(self, environment: Any, **_: Any) -> None:
        """Applies the (possibly web-UI-edited) workload options on every node."""
        state = self.state
        # Requests noted before belong to the old test (and to the never-reset Prometheus
        # counts); the windows start with the test.
        state.buffer.fold()
        state.windows.start_over()
        parsed = environment.parsed_options
        if parsed is not None:
            apply_workload(environment, parsed, state)

    def on_reset_stats(self) -> None:
        self.state.buffer.fold()
        self.state.reset()

    def on_report_to_master(self, client_id: str, data: dict[str, Any]) -> None:
        state = self.state
        state.buffer.fold()
        data[HDR_KEY] = state.service.encode()
        data[INTENDED_KEY] = state.intended.encode()
        data[ARRIVALS_KEY] = state.arrivals.as_dict()
        data[CPU_KEY] = state.cpu.take()
        data[COUNTS_KEY] = state.requests.take()
        data[WINDOWS_KEY] = state.windows.take()
        state.reset()  # histograms travel as increments; counters as running totals

    def on_worker_report(self, client_id: str, data: dict[str, Any]) -> None:
        state = self.state
        state.service.merge_encoded(data.get(HDR_KEY, {}))
        state.intended.merge_encoded(data.get(INTENDED_KEY, {}))
        state.requests.merge(data.get(COUNTS_KEY))
        if ARRIVALS_KEY in data:
            state.worker_arrivals[client_id] = data[ARRIVALS_KEY]
        if WINDOWS_KEY in data:
            state.windows.merge(data[WINDOWS_KEY])
        samples = decode_samples(data.get(CPU_KEY))
        state.generator_live.add(client_id, samples)
        if state.generator_log is not None:
            log = state.generator_log
            log.write(log.name_for(client_id), samples)

    def fold_before_writing(self, **_: Any) -> None:
        self.state.buffer.fold()

    def write_windows(self, environment: Any, **_: Any) -> None:
        parsed = environment.parsed_options
        if parsed is None or isinstance(environment.runner, WorkerRunner):
            return
        options = LocustOptions.from_namespace(parsed)
        if options.windows_out:
            write_windows_json(Path(options.windows_out), self.state.windows)

    def on_quitting(self, environment: Any, **_: Any) -> None:
        parsed = environment.parsed_options
        if parsed is None or isinstance(environment.runner, WorkerRunner):
            return
        write_outputs(environment, LocustOptions.from_namespace(parsed), self.state)


# One Plugin per Events installed on (weakly: Locust's Events live as long as their listeners).
_INSTALLED: weakref.WeakKeyDictionary[Any, Plugin] = weakref.WeakKeyDictionary()


def install(events: Any = None) -> Plugin:
    """Add loadcap's listeners to Locust's events (by default `locust.events`), once."""
    events = locust.events if events is None else events
    if events in _INSTALLED:
        return _INSTALLED[events]
    plugin = _INSTALLED[events] = Plugin()
    events.init_command_line_parser.add_listener(add_arguments)
    events.init.add_listener(plugin.on_init)
    events.test_start.add_listener(learn_id_range)  # before on_test_start reads --id-count
    events.test_start.add_listener(plugin.on_test_start)
    events.report_to_master.add_listener(plugin.on_report_to_master)
    events.worker_report.add_listener(plugin.on_worker_report)
    events.reset_stats.add_listener(plugin.on_reset_stats)
    # `quitting` runs in reverse: the fold, then windows.json, then hdr.json and the rest.
    events.quitting.add_listener(plugin.on_quitting)
    events.quitting.add_listener(plugin.write_windows)
    events.quitting.add_listener(plugin.fold_before_writing)
    # Last: `quitting` fires its listeners in reverse, so the workers' final reports are in
    # before any of the listeners above writes a file.
    final_reports.install(events)
    return plugin


def start(environment: Any, runner: Any, web_ui: Any, state: RunState) -> None:
    """What `init` starts when Locust parsed options: the options checked, the samplers, and
    on the master (or a local runner) the shapes, the progress file and the web UI's parts."""
    options = LocustOptions.from_namespace(environment.parsed_options)
    try:
        workload_options(options)  # fail fast, before any user starts
    except (LoadTestError, MixError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        sys.exit(2)
    gevent.spawn(sample_cpu_every_second, options, runner, state)
    gevent.spawn(fold_requests_every_second, state.buffer)
    if isinstance(runner, WorkerRunner):
        # The master decides which class runs; a worker must know both by name.
        if OpenModelUser not in environment.user_classes:
            environment.user_classes = [*environment.user_classes, OpenModelUser]
        return
    if options.rps > 0:
        environment.user_classes = [OpenModelUser]
    _install_shapes(environment, runner, options)
    if options.progress_out:
        gevent.spawn(write_progress_every_second, environment, Path(options.progress_out), state)
    if web_ui is not None:
        live = LiveCapacity(environment, metrics_url(options, environment), state.generator_live)
        gevent.spawn(live.scrape_forever)
        capacity_tab.install(environment, web_ui, live.figures)
        _serve_metrics(environment, web_ui, state)
        _keep_common_options_for_shapes(web_ui)
    # gevent's loop caches "now" until it next runs; after a slow start (imports on a busy
    # machine) Locust's --run-time timer, set right after this, would fire seconds early.
    gevent.get_hub().loop.update_now()


def metrics_url(options: LocustOptions, environment: Any) -> str:
    return options.metrics_url or str(environment.host or "").rstrip("/") + "/metrics"


class LiveCapacity:
    """The Capacity tab's live figures: the target's CPU per request (scraped every couple
    of seconds while a swarm runs) and the generator's CPU."""

    def __init__(self, environment: Any, url: str, generator: GeneratorCpuWatch) -> None:
        self.environment = environment
        self.url = url
        self.generator = generator
        self.service = ServiceCpuWatch()
        self.exports_cpu = False
        self.last = capacity_tab.LiveFigures()

    def running(self) -> bool:
        return self.environment.runner.state in (STATE_RUNNING, STATE_SPAWNING)

    def scrape_forever(self) -> None:
        while True:
            gevent.sleep(SCRAPE_INTERVAL_S)
            if self.running() and self.url.startswith(("http://", "https://")):
                self.scrape()

    def scrape(self) -> None:
        try:
            with urllib.request.urlopen(self.url, timeout=2.0) as response:  # noqa: S310
                text = response.read(4_000_000).decode("utf-8", errors="replace")
        except (urllib.error.URLError, OSError, ValueError):
            return
        try:
            samples = parse_service_samples(text)
        except ExpositionError:
            return
        self.exports_cpu = bool(samples)
        if samples:
            completed = float(self.environment.runner.stats.total.num_requests)
            self.service.add(time.time(), samples, completed)

    def figures(self) -> capacity_tab.LiveFigures:
        if not self.running():
            return capacity_tab.frozen(self.last, running=False)
        total = self.environment.runner.stats.total
        p95 = total.get_current_response_time_percentile(0.95) if total.num_requests else None
        demand = self.service.demand()
        self.last = capacity_tab.LiveFigures(
            running=True,
            current_rps=float(total.current_rps or 0.0),
            p95_ms=None if p95 is None else float(p95),
            generator_cpu=self.generator.busiest(),
            service_exports_cpu=self.exports_cpu,
            service_cores_used=demand.cores_used if demand else None,
            service_cores_available=demand.cores_available if demand else None,
            cpu_s_per_request=demand.cpu_s_per_request if demand else None,
            per_core_rps=demand.per_core_rps if demand else None,
        )
        return self.last


def _serve_metrics(environment: Any, web_ui: Any, state: RunState) -> None:
    """`/metrics` (Prometheus text) on the web UI's port, behind its login when there is one."""

    def generator_state() -> prometheus_metrics.GeneratorState:
        runner = environment.runner
        return prometheus_metrics.GeneratorState(
            users=int(runner.user_count),
            workers=runner.worker_count if isinstance(runner, MasterRunner) else None,
            cpu_seconds=state.generator_live.latest(),
        )

    def metrics() -> Response:
        state.buffer.fold()
        body = prometheus_metrics.exposition(state.requests, generator_state)
        return Response(body, content_type=prometheus_metrics.CONTENT_TYPE)

    web_ui.app.add_url_rule("/metrics", "loadcap_metrics", web_ui.auth_required_if_enabled(metrics))


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


def _install_shapes(environment: Any, runner: Any, options: LocustOptions) -> None:
    pickable = {cls.__name__: cls() for cls in SHAPES.values()}
    for shape in pickable.values():
        shape.runner = runner
    environment.available_shape_classes = pickable
    if options.shape:
        environment.shape_class = pickable[SHAPES[options.shape].__name__]


def sample_cpu_every_second(options: LocustOptions, runner: Any, state: RunState) -> None:
    """This process's CPU, for `generator.csv`: written here on the master (or a local
    runner), sent along with the stats reports on a worker."""
    if not isinstance(runner, WorkerRunner) and options.generator_out:
        state.generator_log = GeneratorLog(Path(options.generator_out))
    own_name = "master" if isinstance(runner, MasterRunner) else "local"
    while True:
        state.cpu.sample()
        if not isinstance(runner, WorkerRunner):  # a worker's samples go with its reports
            samples = state.cpu.take()
            state.generator_live.add(own_name, samples)
            if state.generator_log is not None:
                state.machine.sample()
                state.generator_log.write(own_name, samples)
                state.generator_log.write(MACHINE, state.machine.take())
        gevent.sleep(SAMPLE_INTERVAL_S)


def fold_requests_every_second(buffer: RequestBuffer) -> None:
    """Moves the requests noted since the last fold into the records (request_buffer.py)."""
    while True:
        gevent.sleep(FOLD_INTERVAL_S)
        buffer.fold()


def write_progress_every_second(environment: Any, path: Path, state: RunState) -> None:
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
            "load_started_at": state.test_started_at,
        }
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(live), encoding="utf-8")
        temporary.replace(path)
        gevent.sleep(1.0)


def apply_workload(environment: Any, parsed: Any, state: RunState) -> None:
    """At test start, on every node: the workload options as given (or edited in the web UI)."""
    options = LocustOptions.from_namespace(parsed)
    # Locust clears its statistics when a new test starts (e.g. a second swarm from the web
    # UI); the exact percentiles and open-model tallies must start over with them.
    state.start_over()
    state.test_started_at = time.time()
    settings = workload_options(options)
    weights = settings.mix.reduced()
    ProfilesUser.tasks = tasks_for(weights)
    ProfilesUser.workload = Workload(
        id_count=settings.id_count, skew=settings.skew, page_limit=settings.page_limit
    )
    runner = environment.runner
    if not isinstance(runner, WorkerRunner):
        users = getattr(runner, "target_user_count", None) or parsed.num_users or 1
        parsed.open_model_users = max(1, int(users))
    if options.rps > 0:
        users = int(getattr(parsed, "open_model_users", 1))
        _configure_open_model(options, users, weights, ProfilesUser.workload, state)


def _configure_open_model(
    options: LocustOptions,
    users: int,
    weights: dict[str, int],
    workload: Workload,
    state: RunState,
) -> None:
    per_user_rate = options.rps / max(1, users)
    actions = action_cycle(weights)
    OpenModelUser.concurrency = options.max_in_flight

    def schedule_for(user: OpenModelUser) -> ArrivalSchedule:
        return ArrivalSchedule(
            user,
            rate=per_user_rate,
            actions=actions,
            workload=workload,
            intended=state.intended,
            counters=state.arrivals,
            max_in_flight=options.max_in_flight,
            late_s=options.late_ms / 1000.0,
        )

    OpenModelUser.schedule_factory = staticmethod(schedule_for)


def write_outputs(environment: Any, options: LocustOptions, state: RunState) -> None:
    """At quitting, on the master (or a local runner): the last CPU sample and hdr.json."""
    if environment.parsed_options.csv_prefix or options.hdr_out:
        # Locust's CSV writer runs once a second and gets no final call: without this pause
        # the last second of a run (and the workers' last reports) would miss the files.
        gevent.sleep(FINAL_WRITE_PAUSE_S)
    if state.generator_log is not None:
        state.cpu.sample()
        state.generator_log.write(
            "master" if isinstance(environment.runner, MasterRunner) else "local",
            state.cpu.take(),
        )
    if not options.hdr_out:
        return
    state.buffer.fold()
    open_model = None
    if options.rps > 0:
        snapshots = (
            list(state.worker_arrivals.values())
            if isinstance(environment.runner, MasterRunner)
            else [state.arrivals.as_dict()]
        )
        open_model = combine(options.rps, snapshots)
    write_hdr_json(
        Path(options.hdr_out),
        state.service,
        intended=state.intended if open_model is not None else None,
        open_model=open_model,
    )


install()
