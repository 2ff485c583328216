"""Prometheus text exposition, parsed one way everywhere: by prometheus_client's own parser.

A run directory's `metrics/*.prom` snapshots and the Capacity tab's live scrapes are this
format. A hand-written pattern gets label values wrong (`route="/api/profile/{id}"` holds a
`}`; values may hold escaped quotes), so every reader goes through `parse_samples`.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

from rundir.errors import LoadcapError


class ExpositionError(LoadcapError, ValueError):
    """The text is not Prometheus text format; the message says what the parser saw."""


@dataclass(frozen=True, slots=True)
class Sample:
    name: str
    labels: dict[str, str]
    value: float
    timestamp: float | None = None  # seconds; only federated or pushed samples carry one


def parse_samples(text: str, *, prefixes: tuple[str, ...] = ()) -> list[Sample]:
    """Every sample in `text`, or only those whose name starts with one of `prefixes`.

    The prefix filter runs on lines before parsing: an exposition holds many series a reader
    does not want (python_gc_*, ...), and skipping them keeps an hour of snapshots quick.
    """
    if prefixes:
        text = "\n".join(line for line in text.splitlines() if line.startswith(prefixes))
    samples: list[Sample] = []
    try:
        for family in text_string_to_metric_families(text + "\n"):
            samples += [
                Sample(
                    s.name,
                    dict(s.labels),
                    float(s.value),
                    None if s.timestamp is None else float(s.timestamp),
                )
                for s in family.samples
            ]
    except (ValueError, IndexError, KeyError, TypeError) as exc:  # the parser's failures
        raise ExpositionError(f"not Prometheus text format ({exc})") from None
    return samples
