"""The reports package's user errors: one base, a run directory (or gate input) it cannot use."""

from __future__ import annotations

from rundir.errors import LoadcapError


class ReportInputError(LoadcapError):
    """A run directory (or one of its files) is missing, truncated or not what we expect.

    The message is one line meant for the user: it names the file and what is wrong with it.
    """


class GateInputError(ReportInputError, ValueError):
    """The gate was given something it cannot judge: a bad flag, run directory or summary."""
