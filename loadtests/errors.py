"""The loadtests package's input errors: one base class the CLI turns into a clear line."""

from __future__ import annotations

from rundir.errors import LoadcapError


class LoadTestError(LoadcapError, ValueError):
    """Something the user asked of a load test is malformed or impossible."""
