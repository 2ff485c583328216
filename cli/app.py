"""`loadcap`: a thin typer CLI over the packages' engines.

Each command parses flags, builds the engine's settings object, calls the engine and prints.
User mistakes (bad flags, unreadable files, malformed input) become one line on stderr and
exit code 2; a failed check (gate) exits 1.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from typer.core import TyperGroup

from capacity.errors import CapacityInputError
from capacity.sizing import DEFAULT_TARGET_RPS
from loadtests.errors import LoadTestError
from reports.errors import GateInputError
from rundir.errors import EXIT_BAD_INPUT, EXIT_CHECK_FAILED, EXIT_OK, LoadcapError
from rundir.units import parse_duration, parse_ratio
from target_service.cpu_cap import CpuCap
from target_service.settings import Settings, SettingsError, display_url

console = Console()
err_console = Console(stderr=True)


class _LoadcapGroup(TyperGroup):
    """The one place user errors are caught: a `LoadcapError` from any package (or a file that
    is not there) becomes one line on stderr and the error's exit code, never a traceback.
    Here rather than in `main()` so that `CliRunner().invoke(app, ...)` sees the same."""

    def invoke(self, ctx: Any) -> Any:  # typer's vendored click.Context
        try:
            return super().invoke(ctx)
        except (LoadcapError, FileNotFoundError) as exc:
            err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            code = exc.exit_code if isinstance(exc, LoadcapError) else EXIT_BAD_INPUT
            raise typer.Exit(code) from None


app = typer.Typer(
    cls=_LoadcapGroup,
    name="loadcap",
    help="Load-test a profiles API and turn what was measured into instances and dollars.",
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion (bash, zsh, fish, ...)
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Create the schema and load data.", no_args_is_help=True)
app.add_typer(db_app, name="db")


def _print_version(value: bool) -> None:
    if value:
        from importlib import metadata

        typer.echo(f"loadcap {metadata.version('loadcap')} (locust {metadata.version('locust')})")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    pass


# --- service: serve, db init, db seed -------------------------------------------------------


DbUrlOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        metavar="URL",
        help="sqlite:///path.db or mysql://user:pass@host:port/db (env LOADCAP_DB_URL).",
        show_default="sqlite:///loadcap.db",
    ),
]
SERVE_SEED_PROFILES = 10_000


ServiceCpusOption = Annotated[
    float | None,
    typer.Option(
        "--service-cpus",
        metavar="CORES",
        help="Run the service loadcap starts (all its workers together) under a CPU quota of "
        "this many cores, e.g. 0.25, so one Locust core can drive it past saturation; needs a "
        "writable cgroup (root). Not with --host.",
    ),
]


@app.command()
def serve(
    *,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Uvicorn worker processes.")] = 1,
    db: DbUrlOption = None,
    replica: Annotated[
        list[str] | None,
        typer.Option(
            metavar="URL", help="Read replica mysql:// URL (repeatable; env LOADCAP_REPLICA_URLS)."
        ),
    ] = None,
    redis: Annotated[
        str | None,
        typer.Option(
            metavar="URL",
            help="redis://host:port/db; absent: in-process cache [env LOADCAP_REDIS_URL]",
        ),
    ] = None,
    rate_limit: Annotated[
        str | None,
        typer.Option(
            metavar="RATE",
            help='Per client IP, e.g. "100/minute", or "off" (env LOADCAP_RATE_LIMIT).',
            show_default="100/minute",
        ),
    ] = None,
    pool_size: Annotated[
        int | None,
        typer.Option(
            min=1, help="Connections per database pool (env LOADCAP_POOL_SIZE).", show_default="10"
        ),
    ] = None,
    seed_profiles: Annotated[
        int,
        typer.Option(
            min=0,
            help="An empty SQLite database is seeded with this many profiles first (0: none).",
        ),
    ] = SERVE_SEED_PROFILES,
    log_level: Annotated[
        str | None,
        typer.Option(
            metavar="LEVEL",
            help="One of critical, error, warning, info, debug (env LOADCAP_LOG_LEVEL).",
            show_default="info",
        ),
    ] = None,
    single_instance: Annotated[
        bool | None,
        typer.Option(
            "--single-instance",
            help="The only instance on a mysql:// database: cache in-process without Redis.",
        ),
    ] = None,
    cpus: Annotated[
        float | None,
        typer.Option(
            metavar="CORES",
            help="Serve (all workers together) under a CPU quota of this many cores, e.g. "
            "0.25, in a cgroup of its own; needs a writable cgroup (root).",
        ),
    ] = None,
) -> None:
    """Start the reference profiles service (creates the schema if it is missing)."""
    from contextlib import nullcontext

    from target_service.cpu_cap import capped_here
    from target_service.server import prepare_database, run_server

    settings = Settings.from_env(
        db_url=db,
        replica_urls=tuple(replica) if replica else None,
        redis_url=redis,
        rate_limit=rate_limit,
        pool_size=pool_size,
        log_level=log_level,
        single_instance=single_instance,
    )
    _check_port_free(host, port)
    # The cap is made first: one that cannot be had is refused before the database is touched
    # (the process joins it only below, so the seeding runs at full speed).
    cap = CpuCap.create(cpus, name=f"serve-{port}") if cpus is not None else None
    embedded = settings.db_url.startswith("sqlite:")
    try:
        seeded = prepare_database(
            settings, profiles=seed_profiles if embedded else 0, only_if_empty=True
        )
    except BaseException:
        if cap is not None:
            cap.remove()
        raise
    if seeded is not None:
        err_console.print(
            f"the database was empty: seeded {seeded.profiles:,} profiles "
            f"(ids 1..{seeded.profiles}) so a load test has something to read; "
            "--seed-profiles 0 starts empty",
            highlight=False,
        )
    limit = settings.rate_limit or "off"
    # The cap is made before anything is served or forked: every worker shares its quota.
    capped = capped_here(cap) if cap is not None else nullcontext()
    with capped as cap:
        err_console.print(
            f"loadcap service on http://{host}:{port} ({display_url(settings.db_url)}, "
            f"rate limit {limit}{_cap_note(cap)})",
            highlight=False,
        )
        run_server(settings, host=host, port=port, workers=workers)


def _cap_note(cap: CpuCap | None) -> str:
    if cap is None:
        return ""
    return (
        f", capped at {cap.cores:g} cores per {cap.period_us / 1000:g} ms CFS period in {cap.path}"
    )


def _check_port_free(host: str, port: int) -> None:
    """A busy port is a usage mistake (exit 2 with a clear line), not a crash of uvicorn's."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise SettingsError(
                f"cannot listen on {host}:{port}: {exc.strerror or exc} (is another service "
                "running there? choose another --port)"
            ) from None


@db_app.command("init")
def db_init(*, db: DbUrlOption = None) -> None:
    """Create the profiles table (idempotent)."""
    from target_service.server import prepare_database

    settings = Settings.from_env(db_url=db)
    prepare_database(settings)
    console.print(f"schema ready in {display_url(settings.db_url)}")


@db_app.command("seed")
def db_seed(
    *,
    db: DbUrlOption = None,
    profiles: Annotated[int, typer.Option(min=1, help="Profiles to insert.")] = 10_000,
) -> None:
    """Insert N realistic profiles with bulk inserts (creates the schema first)."""
    from target_service.server import prepare_database

    settings = Settings.from_env(db_url=db)
    result = prepare_database(settings, profiles=profiles)
    assert result is not None
    console.print(
        f"inserted {result.profiles:,} profiles in {result.seconds:.2f} s "
        f"({result.rate:,.0f}/s) into {display_url(settings.db_url)}"
    )


# --- load tests: run ------------------------------------------------------------------------


@app.command()
def run(
    *,
    host: Annotated[
        str | None, typer.Option(help="Target base URL; omitted: start the embedded service.")
    ] = None,
    users: Annotated[
        int | None,
        typer.Option(help="Concurrent users (closed model); not with --rps.", show_default="10"),
    ] = None,
    spawn_rate: Annotated[
        float | None,
        typer.Option(help="Users started per second.", show_default="all in the first second"),
    ] = None,
    duration: Annotated[str, typer.Option(help="Run length, e.g. 20s, 5m, 1h30m.")] = "20s",
    shape: Annotated[str | None, typer.Option(help="Load shape: step, spike or soak.")] = None,
    step_seconds: Annotated[
        float, typer.Option(help="Step shape: length of each step (adds --users per step).")
    ] = 10.0,
    rps: Annotated[
        float | None, typer.Option(help="Open model: constant arrival rate in req/s.")
    ] = None,
    max_in_flight: Annotated[
        int, typer.Option(help="Open model: concurrent requests per process.")
    ] = 200,
    processes: Annotated[
        str,
        typer.Option(
            help="Locust processes on this machine, or 'auto' (one per CPU the generator may use)."
        ),
    ] = "1",
    metrics_url: Annotated[
        str | None,
        typer.Option(
            help="The target's Prometheus metrics (default HOST/metrics): its "
            "process_cpu_seconds_total gives the service demand per request."
        ),
    ] = None,
    service_cores: Annotated[
        float | None,
        typer.Option(
            help="Cores the target may use, when it does not say so itself (a foreign "
            "service): makes its CPU seconds a utilization in the verdict."
        ),
    ] = None,
    prometheus_url: Annotated[
        str | None,
        typer.Option(
            help="Read the service side from this Prometheus server, summed over every "
            "instance it scrapes (the fleet), instead of one /metrics.",
        ),
    ] = None,
    prometheus_selector: Annotated[
        str | None,
        typer.Option(
            help="""Label matchers for the instances, e.g. '{job="profiles"}' (with """
            "--prometheus-url).",
            show_default="instances exporting loadcap_cpu_cores_available",
        ),
    ] = None,
    locust_metrics_port: Annotated[
        int | None,
        typer.Option(
            help="Serve the Locust master's /metrics on 127.0.0.1:PORT during the run "
            "(its web UI kept up, the run still unattended), for a Prometheus to scrape.",
        ),
    ] = None,
    mix: Annotated[
        str, typer.Option(help="Weights list,get,create,patch (e.g. 80,10,5,5).")
    ] = "80,10,5,5",
    cookies: Annotated[
        bool,
        typer.Option(
            "--cookies/--no-cookies",
            help="Clients keep cookies (browsers: read-your-writes pins their reads to the "
            "primary after a write) or not (stateless API clients).",
        ),
    ] = True,
    out: Annotated[
        Path | None, typer.Option(help="Run directory (default runs/<timestamp>).")
    ] = None,
    web: Annotated[bool, typer.Option(help="Open Locust's web UI instead of headless.")] = False,
    web_port: Annotated[int, typer.Option(help="Web UI port (with --web).")] = 8089,
    id_count: Annotated[
        int | None,
        typer.Option(
            help="Profile ids to draw from (1..N).",
            show_default="the embedded seed, or learned from the target",
        ),
    ] = None,
    locustfile: Annotated[
        Path | None,
        typer.Option(
            "--locustfile",
            "-f",
            help="Your own locustfile (with `import loadtests.plugin`) instead of the profiles "
            "workload; see docs/own-service.md.",
        ),
    ] = None,
    max_error_rate: Annotated[
        str,
        typer.Option(help="Error budget: exit 0 while failures stay within it (1% or 0.01)."),
    ] = "1%",
    service_cpus: ServiceCpusOption = None,
    expect_workers: Annotated[
        int | None,
        typer.Option(
            help="Wait for N Locust workers started on other machines (`locust -f "
            '"$(loadcap locustfile)" --worker --master-host THIS_HOST`) before starting.'
        ),
    ] = None,
    expect_workers_max_wait: Annotated[
        str, typer.Option(help="With --expect-workers: give up after this long, e.g. 60s, 5m.")
    ] = "60s",
    master_bind_host: Annotated[
        str, typer.Option(help="With --expect-workers: the interface the master listens on.")
    ] = "*",
    master_bind_port: Annotated[
        int, typer.Option(help="With --expect-workers: the port the master listens on.")
    ] = 5557,
) -> None:
    """Run a Locust load test into a run directory."""
    from cli import views
    from pipeline.locust_workers import ExternalWorkers
    from pipeline.run import run_and_summarise
    from pipeline.runner import RunSettings
    from rundir.mix import Mix

    if rps is not None and users is not None:
        raise LoadTestError(
            "--rps (open model: requests start at that rate whatever the concurrency) and "
            "--users (closed model) cannot be combined; cap concurrency with --max-in-flight"
        )
    settings = RunSettings(
        out_dir=out or _timestamped_dir(),
        host=host,
        users=10 if users is None else users,
        spawn_rate=spawn_rate,
        duration_s=parse_duration(duration),
        shape=shape,
        step_seconds=step_seconds,
        rps=rps,
        max_in_flight=max_in_flight,
        processes=processes,
        metrics_url=metrics_url,
        service_cores=service_cores,
        prometheus_url=prometheus_url,
        prometheus_selector=prometheus_selector,
        locust_metrics_port=locust_metrics_port,
        web=web,
        web_port=web_port,
        mix=Mix.parse(mix),
        cookies=cookies,
        id_count=id_count,
        locustfile=locustfile,
        max_error_rate=parse_ratio(max_error_rate, flag="--max-error-rate"),
        service_cpu_cap=service_cpus,
        workers=None
        if expect_workers is None
        else ExternalWorkers(
            count=expect_workers,
            bind_host=master_bind_host,
            bind_port=master_bind_port,
            max_wait_s=parse_duration(expect_workers_max_wait),
        ),
    )
    views.show_run_start(console, settings, duration)
    with views.live_run_line(console) as show:
        report = run_and_summarise(settings, on_progress=show)
    views.show_run(report, console, err_console)
    exit_code = 0 if report.exit_code == 0 else 1
    raise typer.Exit(exit_code)


@app.command("locustfile")
def locustfile_path() -> None:
    """Print the path of loadcap's locustfile, for `locust -f "$(loadcap locustfile)"`."""
    from pipeline.runner import LOCUSTFILE

    typer.echo(str(LOCUSTFILE))


# --- reports: report ------------------------------------------------------------------------


@app.command()
def report(
    run_dir: Annotated[Path, typer.Argument(help="Run directory written by `loadcap run`.")],
    *,
    baseline: Annotated[
        Path | None, typer.Option(help="Baseline run directory: adds per-endpoint deltas.")
    ] = None,
    slo_p95_ms: Annotated[
        float, typer.Option(help="SLO: p95 latency objective in ms (for capacity).")
    ] = 100.0,
    slo_error_rate: Annotated[
        str, typer.Option(help="SLO: highest acceptable error rate (1% or 0.01).")
    ] = "1%",
    open_report: Annotated[
        bool, typer.Option("--open", help="Open report.html in a browser afterwards.")
    ] = False,
) -> None:
    """Write report.html, report.md and summary.json for a run directory."""
    # Imported here: matplotlib and pandas are slow to import, other commands need neither.
    from reports.report import write_report
    from reports.slo import Slo

    slo = Slo(
        p95_ms=slo_p95_ms,
        max_error_rate=parse_ratio(slo_error_rate, flag="--slo-error-rate"),
    )
    files = write_report(run_dir, baseline_dir=baseline, slo=slo)
    for path in (files.html, files.markdown, files.summary):
        console.print(f"wrote {path}", highlight=False, soft_wrap=True)
    if open_report:
        import webbrowser

        webbrowser.open(files.html.resolve().as_uri())


# --- capacity: fit, plan --------------------------------------------------------------------


@app.command()
def fit(
    csv_path: Annotated[
        Path, typer.Argument(metavar="CSV", help="Header row, then N and throughput columns.")
    ],
    *,
    as_json: Annotated[bool, typer.Option("--json", help="Print the fit as JSON.")] = False,
    plot: Annotated[
        Path | None, typer.Option(help="Draw data, fit and peak to this .png/.svg/.pdf.")
    ] = None,
) -> None:
    """Fit the Universal Scalability Law to (N, throughput) measurements."""
    import json

    from capacity.usl import fit_summary_lines, fit_usl
    from capacity.usl_csv import read_measurements

    data = read_measurements(csv_path)
    result = fit_usl(data.n, data.throughput)
    if plot is not None:
        from capacity.charts import write_fit_chart

        write_fit_chart(result, data.n, data.throughput, plot)
    if as_json:
        print(json.dumps(result.to_dict() | {"left_out": data.left_out}, indent=2))
        return
    note = data.left_out_note(csv_path.name)
    if note is not None:
        console.print(note, highlight=False)
    for line in fit_summary_lines(result):
        console.print(line, highlight=False)
    if plot is not None:
        console.print(f"wrote {plot}", highlight=False)


@app.command()
def plan(
    *,
    per_instance_rps: Annotated[
        float | None, typer.Option(help="Measured req/s one instance carries within the SLO.")
    ] = None,
    per_core_rps: Annotated[
        float | None,
        typer.Option(
            help="Req/s one core of the service carries (1 / CPU seconds per request); "
            "instances = target / (this x vCPUs x utilization)."
        ),
    ] = None,
    from_run: Annotated[
        Path | None,
        typer.Option("--from", metavar="RUN_DIR", help="Take throughput, p95, mix from a run."),
    ] = None,
    fit_csv: Annotated[
        Path | None,
        typer.Option("--fit", metavar="CSV", help="USL measurements over instance counts."),
    ] = None,
    target_rps: Annotated[
        str,
        typer.Option(
            metavar="RPS|LOW:MID:HIGH",
            help="Load to plan for, req/s; LOW:MID:HIGH plans each and recommends the "
            "least-regret fleet.",
        ),
    ] = f"{DEFAULT_TARGET_RPS:g}",
    short_cost_factor: Annotated[
        float,
        typer.Option(help="With LOW:MID:HIGH: an instance short costs this many idle ones."),
    ] = 3.0,
    utilization: Annotated[float, typer.Option(help="Target utilization, in (0, 1].")] = 0.7,
    redundancy: Annotated[int, typer.Option(help="Spare instances on top (N+k).")] = 1,
    instance_type: Annotated[str, typer.Option(help="EC2 type for the app tier.")] = "t3.medium",
    region: Annotated[str, typer.Option(help="Region in the price file.")] = "us-east-1",
    regions: Annotated[
        str | None,
        typer.Option(
            metavar="A,B",
            help="Active-active over these regions (the first is the primary, the writer); "
            "each sized for --region-share of the load with the others down.",
        ),
    ] = None,
    region_share: Annotated[
        float, typer.Option(help="With --regions: the share of the load each region carries.")
    ] = 1.0,
    cache_hit_ratio: Annotated[
        float | None, typer.Option(help="Share of reads the cache answers (default: run or 0.7).")
    ] = None,
    pool_size: Annotated[int, typer.Option(help="DB pool per instance per node.")] = 10,
    replica_rps: Annotated[
        float, typer.Option(help="Cache-missing reads/s one replica serves at 100%.")
    ] = 500.0,
    multi_az: Annotated[
        bool, typer.Option("--multi-az/--single-az", help="Multi-AZ RDS master.")
    ] = True,
    row_bytes: Annotated[float | None, typer.Option(help="Bytes per profile row.")] = None,
    sqlite_db: Annotated[
        Path | None, typer.Option(help="Measure row size and count in this SQLite database.")
    ] = None,
    profiles: Annotated[int | None, typer.Option(help="Profiles stored today.")] = None,
    slo_p95_ms: Annotated[
        float | None,
        typer.Option(
            help="Size the app tier by queueing (M/M/c) for this p95 at the target load "
            "(default: the run's SLO with --from); the 70% rule is shown beside it."
        ),
    ] = None,
    zones: Annotated[int, typer.Option(help="Availability Zones the app tier spreads over.")] = 1,
    lb_imbalance: Annotated[
        float | None,
        typer.Option(
            help="The busiest instance's share of requests x instances, measured behind your "
            "balancer (1 = even); the app tier is sized for the load x this."
        ),
    ] = None,
    survive_zone_loss: Annotated[
        bool,
        typer.Option(
            help="With --zones 2 or more: the fleet still meets the objective with one "
            "zone's instances gone."
        ),
    ] = True,
    prices: Annotated[
        Path | None, typer.Option(help="Price file overriding the bundled one (same schema).")
    ] = None,
    autoscale: Annotated[
        Path | None,
        typer.Option(metavar="PROFILE.csv", help="24-hour profile (hour,rps): autoscaling."),
    ] = None,
    autoscale_peak: Annotated[
        float | None, typer.Option(help="Autoscale a typical web day peaking at this req/s.")
    ] = None,
    chart: Annotated[
        Path | None, typer.Option(help="Instances and cost vs load (and the day) to this file.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    as_md: Annotated[bool, typer.Option("--md", help="Print Markdown.")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print the cost tables as CSV.")] = False,
) -> None:
    """Capacity and cost plan for a target load: the seed's plan beside the right-sized one."""
    from capacity.outputs import PlanOutput, render_plan
    from capacity.planner import PlanOptions
    from capacity.ranges import parse_target

    if sum((as_json, as_md, as_csv)) > 1:
        raise CapacityInputError("choose one of --json, --md, --csv")
    loads = parse_target(target_rps)
    options = PlanOptions(
        per_instance_rps=per_instance_rps,
        per_core_rps=per_core_rps,
        run_dir=from_run,
        fit_csv=fit_csv,
        target_rps=loads[len(loads) // 2],
        utilization=utilization,
        redundancy=redundancy,
        instance_type=instance_type,
        region=region,
        cache_hit_ratio=cache_hit_ratio,
        pool_size=pool_size,
        replica_rps=replica_rps,
        multi_az=multi_az,
        row_bytes=row_bytes,
        sqlite_db=sqlite_db,
        profiles=profiles,
        slo_p95_ms=slo_p95_ms,
        zones=zones,
        survive_zone_loss=survive_zone_loss,
        regions=tuple(r.strip() for r in regions.split(",")) if regions else (),
        region_share=region_share,
        target_range=loads if len(loads) == 3 else (),
        short_cost_factor=short_cost_factor,
        lb_imbalance=lb_imbalance,
    )
    output = PlanOutput(
        fmt="json" if as_json else "md" if as_md else "csv" if as_csv else "terminal",
        prices=prices,
        autoscale_csv=autoscale,
        autoscale_peak=autoscale_peak,
        chart=chart,
    )
    rendered = render_plan(options, output)
    if isinstance(rendered, str):
        print(rendered, end="")
    else:
        console.print(rendered)


# --- gate -----------------------------------------------------------------------------------


@app.command()
def gate(
    run_dir: Annotated[Path, typer.Argument(help="Run directory with summary.json.")],
    *,
    p95_ms: Annotated[float | None, typer.Option(help="Total p95 must be <= this.")] = None,
    p99_ms: Annotated[float | None, typer.Option(help="Total p99 must be <= this.")] = None,
    max_error_rate: Annotated[
        str | None, typer.Option(help="Total error rate must be <= this (0.01 or 1%).")
    ] = None,
    min_rps: Annotated[float | None, typer.Option(help="Total req/s must be >= this.")] = None,
    threshold: Annotated[
        list[str] | None,
        typer.Option(
            "--threshold",
            "-t",
            help="'[ENDPOINT:]METRIC OP LIMIT', e.g. 'GET /api/profile/{id}:p95<50'. Repeatable.",
        ),
    ] = None,
    baseline: Annotated[
        Path | None, typer.Option(help="Baseline run directory to compare against.")
    ] = None,
    max_regression: Annotated[
        str, typer.Option(help="Allowed change vs baseline per metric (10% or 0.1).")
    ] = "10%",
    noise_floor_ms: Annotated[
        float, typer.Option(help="Latency changes this small never fail a baseline check.")
    ] = 2.0,
    min_requests: Annotated[
        int, typer.Option(help="Skip baseline checks on scopes with fewer requests.")
    ] = 50,
    allow_saturated_generator: Annotated[
        bool,
        typer.Option(
            help="Let throughput checks pass on a run whose load generator saturated (its "
            "throughput is then the generator's, not the service's)."
        ),
    ] = False,
    noise_model: Annotated[
        bool,
        typer.Option(
            "--noise-model/--point-comparison",
            help="Judge baseline changes against the runs' per-second noise (docs/ci.md), or "
            "compare the whole-run figures only.",
        ),
    ] = True,
    junit: Annotated[Path | None, typer.Option(help="Write JUnit XML here.")] = None,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json", help="Print the verdict and every check as JSON instead of the table."
        ),
    ] = False,
) -> None:
    """CI benchmark gate: thresholds and baseline regression. Exit 0 pass, 1 fail, 2 bad input."""
    from reports import gate as gate_engine
    from reports.gate_facts import load_gate_run
    from reports.gate_json import gate_json
    from reports.junit import write_junit
    from reports.thresholds import (
        parse_error_rate,
        parse_percentage,
        parse_threshold,
        totals_threshold,
    )

    limits = [
        totals_threshold(metric, op, value)
        for metric, op, value in (
            ("p95", "<=", p95_ms),
            ("p99", "<=", p99_ms),
            ("error_rate", "<=", parse_error_rate(max_error_rate) if max_error_rate else None),
            ("rps", ">=", min_rps),
        )
        if value is not None
    ]
    limits += [parse_threshold(text) for text in threshold or ()]
    options = gate_engine.GateOptions(
        thresholds=tuple(limits),
        baseline=load_gate_run(baseline) if baseline is not None else None,
        max_regression=parse_percentage(max_regression),
        noise_floor_ms=noise_floor_ms,
        min_requests=min_requests,
        allow_saturated_generator=allow_saturated_generator,
        noise_model=noise_model,
    )
    result = gate_engine.evaluate(load_gate_run(run_dir), options)
    for warning in result.warnings:
        err_console.print(f"warning: {warning}", highlight=False, soft_wrap=True)
    markdown = gate_engine.render_markdown(result)
    typer.echo(gate_json(result) if as_json else markdown, nl=False)
    try:
        gate_engine.append_step_summary(markdown, os.environ)
    except GateInputError as exc:
        # A summary page we cannot write must not change the verdict.
        err_console.print(f"warning: {exc}", highlight=False, soft_wrap=True)
    if junit is not None:
        write_junit(result, junit)
    if not result.passed:
        err_console.print(
            f"gate failed: {len(result.failed)} of {len(result.checks)} checks", highlight=False
        )
        raise typer.Exit(EXIT_CHECK_FAILED)


# --- demo, sweep ----------------------------------------------------------------------------


@app.command()
def demo(
    *,
    duration: Annotated[
        str, typer.Option(help="Length of the step-load sweep, e.g. 30s, 2m.")
    ] = "2m",
    step_users: Annotated[
        int | None,
        typer.Option(help="Users added at every step.", show_default="10; 1 with --service-cpus"),
    ] = None,
    profiles: Annotated[int, typer.Option(help="Profiles seeded before the run.")] = 10_000,
    target_rps: Annotated[
        float, typer.Option(help="Load to plan for, req/s.")
    ] = DEFAULT_TARGET_RPS,
    slo_p95_ms: Annotated[float, typer.Option(help="SLO: p95 latency in ms.")] = 100.0,
    instance_type: Annotated[str, typer.Option(help="EC2 type for the plan.")] = "t3.medium",
    out: Annotated[
        Path | None, typer.Option(help="Run directory (default runs/demo-<time>).")
    ] = None,
    db: DbUrlOption = None,
    replica: Annotated[
        list[str] | None, typer.Option(help="Read replica mysql:// URL (repeatable).")
    ] = None,
    redis: Annotated[str | None, typer.Option(help="redis://host:port/db for the cache.")] = None,
    cookies: Annotated[
        bool,
        typer.Option("--cookies/--no-cookies", help="Clients keep cookies (see `loadcap run`)."),
    ] = True,
    service_cpus: ServiceCpusOption = None,
) -> None:
    """The main job: measure the reference service, report, and plan 1,000 req/s."""
    from cli import views
    from pipeline.demo import DemoSettings, run_demo

    settings = DemoSettings(
        out_dir=out or _timestamped_dir("demo"),
        duration_s=parse_duration(duration),
        step_users=step_users,
        profiles=profiles,
        target_rps=target_rps,
        slo_p95_ms=slo_p95_ms,
        instance_type=instance_type,
        service=_service_settings(db, replica, redis),
        cookies=cookies,
        service_cpu_cap=service_cpus,
    )
    with views.DemoDisplay(console) as display:
        result = run_demo(settings, on_phase=display.phase, on_load=display.load)
    views.show_demo(result, console)
    if result.interrupted:
        raise typer.Exit(130)  # the shell's convention for Ctrl-C, after keeping what was measured


@app.command()
def sweep(
    *,
    host: Annotated[
        str | None, typer.Option(help="Target base URL; omitted: start the embedded service.")
    ] = None,
    levels: Annotated[str, typer.Option(help="Concurrency levels (users), comma-separated.")] = (
        "2,5,10,20,40"
    ),
    level_duration: Annotated[str, typer.Option(help="Length of each level's run.")] = "15s",
    workers: Annotated[
        str | None,
        typer.Option(help="Also measure these service --workers counts (embedded only), e.g. 1,2."),
    ] = None,
    profiles: Annotated[int, typer.Option(help="Profiles seeded (embedded service).")] = 1000,
    out: Annotated[
        Path | None, typer.Option(help="Sweep directory (default runs/sweep-<time>).")
    ] = None,
    plot: Annotated[Path | None, typer.Option(help="Draw data and USL fit to this file.")] = None,
    service_cpus: ServiceCpusOption = None,
) -> None:
    """Throughput at several concurrency levels: writes sweep.csv for `loadcap fit`, and fits it."""
    from pipeline.sweep import SweepSettings, parse_levels, run_sweep, sweep_verdict

    settings = SweepSettings(
        out_dir=out or _timestamped_dir("sweep"),
        host=host,
        levels=parse_levels(levels, flag="--levels"),
        level_duration_s=parse_duration(level_duration),
        workers=parse_levels(workers, flag="--workers") if workers else (),
        profiles=profiles,
        service_cpu_cap=service_cpus,
    )

    def show(kind: str, point: Any) -> None:
        p95 = "-" if point.p95_ms is None else f"{point.p95_ms:.0f} ms"
        console.print(
            f"{kind}: N={point.n:<4} {point.throughput:8.1f} req/s  p95 {p95:>7}  "
            f"errors {point.error_rate:.2%}  first limit: {point.first_limit.replace('_', ' ')}",
            highlight=False,
        )

    results = run_sweep(settings, on_point=show)
    for name, points in results.items():
        path = settings.out_dir / name
        console.print(f"wrote {path}", highlight=False)
        _fit_and_show(path, plot if name == "sweep.csv" else None, len(points))
        console.print(sweep_verdict(points), highlight=False, soft_wrap=True)


@app.command()
def scaleout(
    *,
    instances: Annotated[
        str, typer.Option(help="Instance counts to measure, comma-separated.")
    ] = "1,2,3,4",
    cpu_per_instance: Annotated[
        float, typer.Option(help="Each instance's CPU cap in cores (a cgroup of its own).")
    ] = 0.15,
    duration: Annotated[str, typer.Option(help="Measured window of each point.")] = "20s",
    warmup: Annotated[str, typer.Option(help="Load before each point's window.")] = "4s",
    repeat: Annotated[int, typer.Option(help="Measurements of each N (spread kept).")] = 1,
    users_per_instance: Annotated[
        int, typer.Option(help="Closed-model users per instance (the same load per unit).")
    ] = 10,
    processes: Annotated[int, typer.Option(help="Locust processes.")] = 2,
    profiles: Annotated[int, typer.Option(help="Profiles seeded (local fleet).")] = 1000,
    db: Annotated[
        str | None,
        typer.Option(metavar="URL", help="Shared mysql:// master; omitted: loadcap starts one."),
    ] = None,
    replica: Annotated[
        list[str] | None, typer.Option(help="Read replica mysql:// URL (repeatable).")
    ] = None,
    redis: Annotated[str | None, typer.Option(help="redis://host:port/db for the cache.")] = None,
    scale_cmd: Annotated[
        str | None,
        typer.Option(help="A real fleet: command that scales it to {n} instances."),
    ] = None,
    host: Annotated[
        str | None, typer.Option(help="With --scale-cmd: the load balancer's base URL.")
    ] = None,
    metrics_url: Annotated[
        str | None,
        typer.Option(help="With --scale-cmd: every instance's /metrics URL, comma-separated."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Scale-out directory (default runs/scaleout-<time>).")
    ] = None,
) -> None:
    """Throughput of 1..N CPU-capped instances behind nginx on shared MariaDB + Redis, each
    point with what limited it, and a USL fit on instance count against the seed's linear line."""
    from cli import views
    from pipeline.scaleout import run_scaleout
    from pipeline.scaleout_settings import ScaleoutSettings
    from pipeline.sweep import parse_levels

    settings = ScaleoutSettings(
        out_dir=out or _timestamped_dir("scaleout"),
        instances=parse_levels(instances, flag="--instances"),
        cpu_per_instance=cpu_per_instance,
        duration_s=parse_duration(duration),
        warmup_s=parse_duration(warmup),
        repeat=repeat,
        users_per_instance=users_per_instance,
        processes=processes,
        profiles=profiles,
        db_url=db,
        replica_urls=tuple(replica or ()),
        redis_url=redis,
        scale_cmd=scale_cmd,
        host=host,
        metrics_urls=tuple(u.strip() for u in (metrics_url or "").split(",") if u.strip()),
    )
    points = len(settings.schedule)
    console.print(
        f"loadcap scaleout: N = {', '.join(map(str, sorted(settings.instances)))}, "
        f"{points} measurements of {duration} after {warmup} of warm-up; "
        f"results in {settings.out_dir}",
        highlight=False,
    )
    result = run_scaleout(
        settings,
        on_point=lambda point: views.show_scaleout_repeat(point, console),
        on_phase=lambda text: console.print(text, highlight=False, style="dim"),
    )
    views.show_scaleout(result.document, console)
    for path in (result.csv_path, result.json_path, *result.report_paths):
        console.print(f"wrote {path}", highlight=False)
    if result.interrupted:
        raise typer.Exit(130)  # the shell's convention for Ctrl-C, after keeping what was measured


def _fit_and_show(path: Path, plot: Path | None, points: int) -> None:
    from capacity.usl import MIN_POINTS, fit_summary_lines, fit_usl
    from capacity.usl_csv import read_measurements

    if points < MIN_POINTS:
        console.print(f"  (no USL fit: {points} points, a fit needs {MIN_POINTS})")
        return
    data = read_measurements(path)
    result = fit_usl(data.n, data.throughput)
    for line in fit_summary_lines(result):
        console.print(f"  {line}", highlight=False)
    if plot is not None:
        from capacity.charts import write_fit_chart

        write_fit_chart(result, data.n, data.throughput, plot)
        console.print(f"wrote {plot}", highlight=False)


def _timestamped_dir(prefix: str | None = None) -> Path:
    """runs/<prefix>-<UTC time>, or runs/<UTC time> for `loadcap run`."""
    from datetime import UTC, datetime

    stamp = f"{datetime.now(UTC):%Y%m%d-%H%M%S}"
    return Path("runs") / (f"{prefix}-{stamp}" if prefix else stamp)


def _service_settings(
    db: str | None, replica: list[str] | None, redis: str | None
) -> Settings | None:
    """Settings for a demo against real servers; None keeps the embedded default."""
    if db is None and not replica and redis is None:
        return None
    if db is None:
        raise SettingsError("--replica and --redis need --db mysql://... (or none of the three)")
    # The demo runs one instance: without Redis its in-process cache is the only one.
    return Settings.from_env(
        {},
        db_url=db,
        replica_urls=tuple(replica or ()),
        redis_url=redis,
        rate_limit="off",
        single_instance=True,
    )


_METAVARS = {"<int>": "N", "<float>": "NUMBER", "<str>": "TEXT", "<path>": "PATH"}


def _command() -> Any:
    """The click command tree, with plain metavars: none on flags (typer shows `<bool>`),
    `N`/`NUMBER`/`TEXT`/`PATH` instead of `<int>`/`<float>`/`<str>`/`<path>`."""
    root: Any = typer.main.get_command(app)
    pending = [root]
    while pending:
        command = pending.pop()
        pending += list(getattr(command, "commands", {}).values())
        ctx = typer.Context(command)
        for param in command.params:
            if param.param_type_name != "option" or param.metavar is not None:
                continue
            if param.is_flag or param.count:
                param.metavar = ""
                continue
            shown = str(param.display_type_rich(ctx))
            if shown in _METAVARS:
                param.metavar = _METAVARS[shown]
            elif shown.startswith("<int range>"):
                param.metavar = "N"
    return root


def main() -> None:
    """Console entry point. Usage mistakes (unknown flag, bad value) are one line on stderr and
    exit 2, like the engines' input errors (`_LoadcapGroup`), instead of click's multi-line
    usage box."""
    try:
        result = _command().main(standalone_mode=False)
    except Exception as exc:
        # Matched by name: typer >= 0.2x raises its vendored click's classes, older typer
        # raises click's own; both keep click's names and attributes.
        kinds = {cls.__name__ for cls in type(exc).__mro__}
        if "NoArgsIsHelpError" in kinds:
            raise SystemExit(EXIT_BAD_INPUT) from None  # the help is already printed
        if "UsageError" in kinds:
            ctx = getattr(exc, "ctx", None)
            command = ctx.command_path if ctx is not None else "loadcap"
            message = f"{exc.format_message()} (see '{command} --help')"  # type: ignore[attr-defined]
            err_console.print(f"error: {message}", highlight=False, markup=False, soft_wrap=True)
            raise SystemExit(EXIT_BAD_INPUT) from None
        if "ClickException" in kinds:
            message = exc.format_message()  # type: ignore[attr-defined]
            err_console.print(f"error: {message}", highlight=False, markup=False, soft_wrap=True)
            raise SystemExit(getattr(exc, "exit_code", EXIT_BAD_INPUT)) from None
        if "Abort" in kinds:
            err_console.print("aborted", highlight=False, markup=False)
            raise SystemExit(EXIT_CHECK_FAILED) from None
        raise
    # Without standalone mode a command's typer.Exit(code) comes back as the return value.
    raise SystemExit(result if isinstance(result, int) else EXIT_OK)


if __name__ == "__main__":
    main()
