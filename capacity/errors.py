"""The capacity package's user-input error: the CLI turns it into one line and exit code 2."""

from __future__ import annotations

from rundir.errors import LoadcapError


class CapacityInputError(LoadcapError, ValueError):
    """A number, flag, CSV or data file given to the capacity calculator is unusable."""
