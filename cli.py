"""`loadcap`: a thin typer CLI over the packages' engines.

Each command parses flags, builds the engine's settings object, calls the engine and prints.
User mistakes (bad flags, unreadable files, malformed input) become one line on stderr and
exit code 2; a failed check (gate) exits 1.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from target_service.settings import SettingsError

app = typer.Typer(
    name="loadcap",
    help="Load-test a profiles API and turn what was measured into instances and dollars.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Create the schema and load data.", no_args_is_help=True)
app.add_typer(db_app, name="db")

console = Console()
err_console = Console(stderr=True)

EXIT_OK, EXIT_CHECK_FAILED, EXIT_BAD_INPUT = 0, 1, 2

# Exceptions that mean "the user gave us something wrong". Each package adds its own base.
USER_ERRORS: tuple[type[BaseException], ...] = (SettingsError, FileNotFoundError)

F = TypeVar("F", bound=Callable[..., Any])


def user_errors(func: F) -> F:
    """Turn the engines' input errors into one clear line on stderr and exit code 2."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except USER_ERRORS as exc:
            err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(EXIT_BAD_INPUT) from None

    return wrapper  # type: ignore[return-value]


# --- service: serve, db init, db seed -------------------------------------------------------


@app.command()
@user_errors
def serve() -> None:
    """Start the reference profiles service."""
    raise NotImplementedError


# --- load tests: run ------------------------------------------------------------------------


@app.command()
@user_errors
def run() -> None:
    """Run a Locust load test into a run directory."""
    raise NotImplementedError


# --- reports: report ------------------------------------------------------------------------


@app.command()
@user_errors
def report() -> None:
    """Write report.html, report.md and summary.json for a run directory."""
    raise NotImplementedError


# --- capacity: fit, plan --------------------------------------------------------------------


@app.command()
@user_errors
def fit() -> None:
    """Fit the Universal Scalability Law to (N, throughput) measurements."""
    raise NotImplementedError


@app.command()
@user_errors
def plan() -> None:
    """Capacity and cost plan for a target load."""
    raise NotImplementedError


# --- gate -----------------------------------------------------------------------------------


@app.command()
@user_errors
def gate() -> None:
    """CI benchmark gate: thresholds and baseline regression."""
    raise NotImplementedError


# --- demo, sweep ----------------------------------------------------------------------------


@app.command()
@user_errors
def demo() -> None:
    """The main job: measure the reference service and plan 1,000 req/s."""
    raise NotImplementedError


def main() -> None:
    app()


if __name__ == "__main__":
    sys.exit(main())
