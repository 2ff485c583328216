"""The one base of loadcap's user errors, and the exit codes the CLI ends with (docs: SPEC).

Every package subclasses `LoadcapError` for what a user gave it wrong (a flag, a file, a URL,
a machine without what a command needs); the CLI catches the base in one place, prints the
message as one line on stderr and exits with the error's code. It lives in `rundir`, the leaf
every package may import.
"""

from __future__ import annotations

from typing import ClassVar

EXIT_OK = 0
EXIT_CHECK_FAILED = 1  # a check failed (the gate)
EXIT_BAD_INPUT = 2  # bad input or usage


class LoadcapError(Exception):
    """Something the user can fix. `str(error)` is the one line meant for them (it names the
    flag, file or variable and what is wrong); `exit_code` is what the CLI exits with."""

    exit_code: ClassVar[int] = EXIT_BAD_INPUT

    @property
    def message(self) -> str:
        return str(self)
