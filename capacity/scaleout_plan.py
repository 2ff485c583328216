"""`loadcap plan --fit DIR/scaleout.csv` when `scaleout.json` sits beside the CSV.

The CSV has a row for every instance count, including those something other than the
instances limited; the document knows which. So the plan fits what `loadcap scaleout` fitted
(every repeat of the points the instances limited) and adds what only the document knows:
which shared tier bounds the fleet and at which N, and the connections each database node
held at each N against its max_connections.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from capacity.errors import CapacityInputError
from capacity.scaleout import fit_points
from capacity.usl import UslFit
from rundir.document import DocumentError
from rundir.scaleout_json import SCALEOUT_FILE, ScaleoutDocument, read_scaleout


@dataclass(frozen=True, kw_only=True)
class ScaleoutEvidence:
    fit: UslFit
    notes: list[str]
    instance_cores: float | None = None  # the CPU cap of each measured instance


def scaleout_evidence(
    fit_csv: Path, *, target_rps: float, pool_size: int
) -> ScaleoutEvidence | None:
    """The fit and notes from `scaleout.json` beside `fit_csv`; None when there is none."""
    path = fit_csv.with_name(SCALEOUT_FILE)
    if not path.is_file():
        return None
    try:
        document = read_scaleout(path)
    except DocumentError as exc:
        raise CapacityInputError(str(exc)) from None
    negative = document.fit.negative_sigma_allowed if document.fit else False
    curve, message = fit_points(document.points, allow_negative_sigma=negative)
    if curve is None:
        raise CapacityInputError(f"{path}: {message}")
    counts = ", ".join(str(n) for n in curve.record.instance_counts)
    notes = [
        f"USL fit from {path.name} beside {fit_csv.name}: every repeat of the points the "
        f"instances limited (N = {counts}); rows something else limited are left out"
    ]
    notes += bottleneck_notes(document, target_rps=target_rps)
    notes += connection_notes(document, pool_size=pool_size)
    return ScaleoutEvidence(
        fit=curve.model, notes=notes, instance_cores=document.settings.cpu_per_instance
    )


def bottleneck_notes(document: ScaleoutDocument, *, target_rps: float) -> list[str]:
    bottleneck = document.bottleneck
    if bottleneck is None:
        return ["no shared tier's CPU was measured: which tier limits the fleet is unknown"]
    notes = [f"fleet bottleneck (measured): {bottleneck.sentence}"]
    if target_rps > bottleneck.fleet_bound_rps:
        notes.append(
            f"warning: the target {target_rps:,.0f} req/s exceeds what {bottleneck.tier} "
            f"carried per core here ({bottleneck.fleet_bound_rps:,.0f} req/s on "
            f"{bottleneck.cores_available:g} core(s)): more instances cannot reach it without "
            f"a larger or scaled-out {bottleneck.tier}"
        )
    return notes


def connection_notes(document: ScaleoutDocument, *, pool_size: int) -> list[str]:
    """Per node: the connections measured at the largest N, and how many instances its
    max_connections admits at the plan's pool size."""
    largest = max(document.points, key=lambda p: p.instances, default=None)
    if largest is None:
        return []
    notes = []
    for node in largest.connections:
        if node.threads_connected is None:
            continue
        admits = (
            f"; its max_connections {node.max_connections:,} admits "
            f"{node.max_connections // pool_size:,} instances at {pool_size} connections each"
            if node.max_connections and pool_size > 0
            else ""
        )
        notes.append(
            f"connections measured on {node.node}: {node.threads_connected:,} at "
            f"N = {largest.instances} (Threads_connected){admits}"
        )
    return notes
