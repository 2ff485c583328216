"""`loadcap run` glue: flags to RunSettings, the live progress line, the summary at the end.

Kept out of cli.py so the CLI stays thin; the engine itself is `pipeline.runner`.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

from rich.console import Console
from rich.live import Live
from rich.text import Text

from loadtests.errors import LoadTestError
from loadtests.mix import Mix
from loadtests.progress import Progress
from pipeline.runner import RunOutcome, RunSettings, run_load_test
from rundir.units import parse_duration, parse_ratio


def run_command(
    console: Console,
    err_console: Console,
    *,
    host: str | None,
    users: int | None,
    spawn_rate: float | None,
    duration: str,
    shape: str | None,
    rps: float | None,
    step_seconds: float = 10.0,
    max_in_flight: int,
    processes: str | int,
    metrics_url: str | None = None,
    service_cores: float | None = None,
    mix: str,
    cookies: bool = True,
    out: Path | None,
    web: bool,
    web_port: int,
    id_count: int | None = None,
    locustfile: Path | None = None,
    max_error_rate: str = "1%",
) -> int:
    """Runs, prints one outcome line, returns the exit code (0 ok, 1 failures or errors)."""
    if rps is not None and users is not None:
        raise LoadTestError(
            "--rps (open model: requests start at that rate whatever the concurrency) and "
            "--users (closed model) cannot be combined; cap concurrency with --max-in-flight"
        )
    settings = RunSettings(
        out_dir=out or Path("runs") / datetime.now(UTC).strftime("%Y%m%d-%H%M%S"),
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
        web=web,
        web_port=web_port,
        mix=Mix.parse(mix),
        cookies=cookies,
        id_count=id_count,
        locustfile=locustfile,
        max_error_rate=parse_ratio(max_error_rate, flag="--max-error-rate"),
    )
    target = host or "the embedded service"
    console.print(f"loadcap run: {target}, {duration}, results in {settings.out_dir}")
    if web:
        console.print(f"Locust web UI: http://127.0.0.1:{web_port} (Ctrl+C to finish)")
    with _sigterm_as_interrupt():
        outcome = _run_with_progress(console, settings)
    sentence = _write_summary(outcome, err_console)
    totals = whole_run_line(outcome.out_dir)
    if totals:
        console.print(totals, highlight=False)
    if sentence:
        console.print(f"verdict: {sentence}", highlight=False, soft_wrap=True)
    if outcome.exit_code == 0:
        console.print(outcome.message, highlight=False, soft_wrap=True)
        return 0
    err_console.print(
        f"[bold red]run failed:[/] {outcome.message}", highlight=False, soft_wrap=True
    )
    return 1


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (a CI runner cancelling, `kill`) stops the run like Ctrl+C: Locust is asked to
    stop and write its reports, and the embedded service is stopped."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run_with_progress(console: Console, settings: RunSettings) -> RunOutcome:
    # The live line is "now" (Locust's current rate and a 10 s window's p95); the whole-run
    # figures, the same the report shows, are printed after the run (whole_run_line).
    with Live(Text("starting Locust..."), console=console, transient=True) as live:

        def show(progress: Progress) -> None:
            live.update(Text(progress.line()))

        return run_load_test(settings, on_progress=show)


def whole_run_line(out_dir: Path) -> str | None:
    """The run's totals as summary.json (and so the report) has them."""
    try:
        totals = json.loads((out_dir / "summary.json").read_text(encoding="utf-8"))["totals"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    hdr = totals.get("hdr") or {}
    p95 = hdr.get("p95_ms", totals.get("p95_ms"))
    rps = totals.get("rps")
    shown_p95 = "-" if p95 is None else f"{p95:.0f} ms"
    shown_rps = "-" if rps is None else f"{rps:.1f}"
    return (
        f"whole run: {shown_rps} req/s, p95 {shown_p95}, "
        f"failures {totals.get('failures', 0):.0f}/{totals.get('requests', 0):.0f}"
    )


def _write_summary(outcome: RunOutcome, err_console: Console) -> str | None:
    """summary.json is the reports package's derivation of the run directory; returns its
    sentence on what hit its limit first."""
    if not (outcome.out_dir / "locust_stats.csv").exists():
        return None
    from reports.errors import ReportInputError
    from reports.summary import write_summary

    try:
        path = write_summary(outcome.out_dir)
    except ReportInputError as exc:
        err_console.print(f"[yellow]warning:[/] no summary.json: {exc}", highlight=False)
        return None
    capacity = json.loads(path.read_text(encoding="utf-8")).get("capacity") or {}
    sentence = capacity.get("sentence")
    return sentence if isinstance(sentence, str) else None
