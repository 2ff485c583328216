"""A figure and how it was obtained: every input of a plan carries its source with it.

A plan prints each number beside where it came from ("measured in RUN", "given with
--per-core-rps", "assumed"). Carrying the two as one value keeps them from drifting apart,
and a new plan input is one field, not a number and a parallel string.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    """`value` and a phrase saying how it was obtained (shown in notes and in plan.json)."""

    value: float
    source: str
