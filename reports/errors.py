"""The reports package's user-error base: a run directory it cannot read."""

from __future__ import annotations


class ReportInputError(Exception):
    """A run directory (or one of its files) is missing, truncated or not what we expect.

    The message is one line meant for the user: it names the file and what is wrong with it.
    """
