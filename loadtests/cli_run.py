"""`loadcap run` glue: flags to RunSettings, the live progress line, the summary at the end.

Kept out of cli.py so the CLI stays thin; the engine itself is `loadtests.runner`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.live import Live
from rich.text import Text

from loadtests.durations import parse_duration
from loadtests.mix import Mix
from loadtests.progress import Progress
from loadtests.runner import RunOutcome, RunSettings, run_load_test


def run_command(
    console: Console,
    err_console: Console,
    *,
    host: str | None,
    users: int,
    spawn_rate: float,
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
) -> int:
    """Runs, prints one outcome line, returns the exit code (0 ok, 1 failures or errors)."""
    settings = RunSettings(
        out_dir=out or Path("runs") / datetime.now(UTC).strftime("%Y%m%d-%H%M%S"),
        host=host,
        users=users,
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
    )
    target = host or "the embedded service"
    console.print(f"loadcap run: {target}, {duration}, results in {settings.out_dir}")
    if web:
        console.print(f"Locust web UI: http://127.0.0.1:{web_port} (Ctrl+C to finish)")
    outcome = _run_with_progress(console, settings)
    sentence = _write_summary(outcome, err_console)
    if sentence:
        console.print(f"verdict: {sentence}", highlight=False, soft_wrap=True)
    if outcome.exit_code == 0:
        console.print(outcome.message, highlight=False, soft_wrap=True)
        return 0
    err_console.print(
        f"[bold red]run failed:[/] {outcome.message}", highlight=False, soft_wrap=True
    )
    return 1


def _run_with_progress(console: Console, settings: RunSettings) -> RunOutcome:
    last: list[Progress] = []
    with Live(Text("starting Locust..."), console=console, transient=True) as live:

        def show(progress: Progress) -> None:
            last[:] = [progress]
            live.update(Text(progress.line()))

        outcome = run_load_test(settings, on_progress=show)
    if last:
        console.print(last[0].line(), highlight=False)
    return outcome


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
