"""The scale-out report's "Why the curve bends" section: what the instances did per request at
each N (`ScaleoutPoint.evidence`, pooled over the repeats) beside their CPU per request, and
the analysis's sentence (`ScaleoutDocument.bend`). Rows built once, laid out by both pages."""

from __future__ import annotations

from reports import formatting as fmt
from rundir.scaleout_json import ScaleoutDocument, ScaleoutPoint

EVIDENCE_HEADER = [
    "N",
    "instances CPU ms/req",
    "L1 share of lookups",
    "round trips to the shared cache /req",
    "invalidations applied /req",
    "DB queries /req (by pool)",
    "throttled CFS periods",
    "machine busy",
    "other programs (cores)",
]


def bend_sentence(document: ScaleoutDocument) -> str:
    bend = document.bend
    return bend.sentence if bend is not None else "The instances' CPU per request was not measured."


def evidence_rows(document: ScaleoutDocument) -> list[list[str]]:
    """One row per point that carries evidence."""
    return [_row(point) for point in document.points if point.evidence is not None]


def _row(point: ScaleoutPoint) -> list[str]:
    e = point.evidence
    assert e is not None
    fleet = next((t for t in point.tiers if t.name == "instances"), None)
    demand = fleet.cpu_s_per_request if fleet is not None else None
    queries = ", ".join(f"{pool} {value:.2f}" for pool, value in e.db_queries_per_request.items())
    return [
        str(point.instances),
        fmt.MISSING if demand is None else f"{demand * 1000:.2f}",
        fmt.share(e.l1_hit_ratio),
        _number(e.round_trips_per_request),
        _number(e.invalidations_per_request),
        queries or fmt.MISSING,
        fmt.share(e.throttled_share),
        fmt.share(e.machine_busy),
        _number(e.others_cores),
    ]


def _number(value: float | None) -> str:
    return fmt.MISSING if value is None else f"{value:.2f}"
