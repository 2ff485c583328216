"""Reading (N, throughput) measurements from a CSV for a USL fit.

The header is required: the first column is N (`n`, `concurrency`, `load`, `instances` or
`processors`), the second the throughput under any name. Extra columns are ignored, except
`fitted`: where it exists (`loadcap scaleout`'s CSV), a row whose `fitted` is false is left
out of the measurements (its point was limited by something other than the instances) and
listed in `left_out`, with its `first_limit` when that column exists.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from pathlib import Path

from capacity.errors import CapacityInputError

N_COLUMN_NAMES = ("n", "concurrency", "load", "instances", "processors")
FITTED_COLUMN = "fitted"
LIMIT_COLUMN = "first_limit"
NOT_FITTED = ("false", "no", "0")


@dataclass(frozen=True)
class Measurements:
    n: list[float]
    throughput: list[float]
    n_name: str
    throughput_name: str
    left_out: list[str] = field(default_factory=list)  # "N = 4 (first limit: machine)", …

    def left_out_note(self, origin: str) -> str | None:
        """One line saying which rows were not fitted and why, or None."""
        if not self.left_out:
            return None
        rows = "row" if len(self.left_out) == 1 else "rows"
        return (
            f"left out {len(self.left_out)} {rows} of {origin} whose `fitted` column is false "
            f"(not limited by the instances, so not the fleet's capacity): "
            + "; ".join(self.left_out)
        )


def read_measurements(path: Path) -> Measurements:
    try:
        text = path.read_text(encoding="utf-8-sig")  # tolerate a spreadsheet's BOM
    except OSError as exc:
        raise CapacityInputError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise CapacityInputError(f"{path}: not a UTF-8 text CSV") from None
    return parse_measurements(text, origin=str(path))


def parse_measurements(text: str, *, origin: str) -> Measurements:
    rows = [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
    if not rows:
        raise CapacityInputError(f"{origin}: the file is empty")
    header = [cell.strip() for cell in rows[0]]
    _check_header(header, origin)
    names = [name.lower() for name in header]
    fitted = names.index(FITTED_COLUMN) if FITTED_COLUMN in names else None
    limit = names.index(LIMIT_COLUMN) if LIMIT_COLUMN in names else None
    n: list[float] = []
    throughput: list[float] = []
    left_out: list[str] = []
    for line_no, row in enumerate(rows[1:], start=2):
        if len(row) < 2:
            raise CapacityInputError(f"{origin}, row {line_no}: expected 2 cells, got {len(row)}")
        count = _number(row[0], origin, line_no, header[0])
        rate = _number(row[1], origin, line_no, header[1])
        if fitted is not None and _cell(row, fitted).lower() in NOT_FITTED:
            why = _cell(row, limit) if limit is not None else ""
            left_out.append(f"N = {count:g}" + (f" (first limit: {why})" if why else ""))
            continue
        n.append(count)
        throughput.append(rate)
    return Measurements(
        n=n, throughput=throughput, n_name=header[0], throughput_name=header[1], left_out=left_out
    )


def _cell(row: list[str], index: int | None) -> str:
    return row[index].strip() if index is not None and index < len(row) else ""


def _check_header(header: list[str], origin: str) -> None:
    accepted = ", ".join(N_COLUMN_NAMES)
    if len(header) < 2:
        raise CapacityInputError(
            f"{origin}: the header needs two columns (N, throughput), got {','.join(header)!r}"
        )
    if _is_number(header[0]):
        raise CapacityInputError(
            f"{origin}: missing header; the first row must name the columns, e.g. 'n,throughput'"
            f" (first column one of: {accepted})"
        )
    if header[0].lower() not in N_COLUMN_NAMES:
        raise CapacityInputError(
            f"{origin}: unknown first column {header[0]!r}; expected one of: {accepted}"
        )
    if not header[1]:
        raise CapacityInputError(f"{origin}: the second column (throughput) has no name")


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _number(cell: str, origin: str, line_no: int, column: str) -> float:
    try:
        value = float(cell.strip())
    except ValueError:
        raise CapacityInputError(
            f"{origin}, row {line_no}: {column} {cell.strip()!r} is not a number"
        ) from None
    if not math.isfinite(value):
        raise CapacityInputError(f"{origin}, row {line_no}: {column} must be finite, got {cell}")
    return value
