"""`loadcap`, the command line: `app` holds the commands (thin: flags to the engines' settings
objects), `views` renders what the engines return. Nothing else in loadcap prints."""

from cli.app import app, main
from rundir.errors import EXIT_BAD_INPUT, EXIT_CHECK_FAILED, EXIT_OK

__all__ = ["EXIT_BAD_INPUT", "EXIT_CHECK_FAILED", "EXIT_OK", "app", "main"]
