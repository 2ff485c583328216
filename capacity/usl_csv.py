"""Reading (N, throughput) measurements from a CSV for a USL fit.

The header is required: the first column is N (`n`, `concurrency`, `load`, `instances` or
`processors`), the second the throughput under any name. Extra columns are ignored.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

from capacity.errors import CapacityInputError

N_COLUMN_NAMES = ("n", "concurrency", "load", "instances", "processors")


@dataclass(frozen=True)
class Measurements:
    n: list[float]
    throughput: list[float]
    n_name: str
    throughput_name: str


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
    n: list[float] = []
    throughput: list[float] = []
    for line_no, row in enumerate(rows[1:], start=2):
        if len(row) < 2:
            raise CapacityInputError(f"{origin}, row {line_no}: expected 2 cells, got {len(row)}")
        n.append(_number(row[0], origin, line_no, header[0]))
        throughput.append(_number(row[1], origin, line_no, header[1]))
    return Measurements(n=n, throughput=throughput, n_name=header[0], throughput_name=header[1])


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
