"""The import map between loadcap's top-level packages, checked against its layering.

    .venv/bin/python scripts/import_map.py          # the map, then OK or each wrong edge

Every import counts: module-level, inside functions (the late imports that keep the CLI
quick) and under TYPE_CHECKING. Exit status 1 when an edge breaks the layering below.
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Who may import whom. Data flows one way: the CLI renders what the pipeline returns, the
# pipeline drives the engines, the engines share only the run directory's vocabulary.
ALLOWED: dict[str, frozenset[str]] = {
    "cli": frozenset({"pipeline", "loadtests", "reports", "capacity", "target_service", "rundir"}),
    "pipeline": frozenset({"loadtests", "reports", "capacity", "target_service", "rundir"}),
    "loadtests": frozenset({"capacity", "rundir"}),  # the Capacity tab sizes with capacity/
    "reports": frozenset({"rundir"}),
    "capacity": frozenset({"rundir"}),
    "target_service": frozenset({"rundir"}),
    "rundir": frozenset(),
}
PACKAGES = tuple(ALLOWED)


def imported_packages(path: Path) -> set[str]:
    """The loadcap packages `path` imports (absolute imports; relative ones stay inside)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found |= {name.split(".")[0] for name in names} & set(PACKAGES)
    return found


def import_map(root: Path = ROOT) -> dict[tuple[str, str], list[str]]:
    """(importer, imported) -> the importer's files that do it."""
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            for imported in sorted(imported_packages(path) - {package}):
                edges[package, imported].append(str(path.relative_to(root)))
    return dict(edges)


def violations(edges: dict[tuple[str, str], list[str]]) -> list[str]:
    return [
        f"{importer} -> {imported} ({', '.join(files)})"
        for (importer, imported), files in sorted(edges.items())
        if imported not in ALLOWED[importer]
    ]


def main() -> int:
    edges = import_map()
    for importer in PACKAGES:
        targets = sorted(imported for (source, imported) in edges if source == importer)
        shown = ", ".join(f"{t} ({len(edges[importer, t])})" for t in targets) or "-"
        print(f"{importer:15} -> {shown}")
    wrong = violations(edges)
    for line in wrong:
        print(f"not allowed: {line}")
    print("OK: every import follows the layering" if not wrong else f"{len(wrong)} wrong edges")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
