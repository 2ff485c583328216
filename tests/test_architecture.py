"""The layering between loadcap's packages (scripts/import_map.py): data flows one way."""

from __future__ import annotations

import runpy
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).parents[1]
SCRIPT = ROOT / "scripts" / "import_map.py"


def import_map_module() -> dict[str, Any]:
    return runpy.run_path(str(SCRIPT))


def test_every_import_between_packages_follows_the_layering() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout
    assert "OK: every import follows the layering" in result.stdout
    assert result.stdout.startswith("cli ")


def test_a_late_import_against_the_layering_is_found(tmp_path: Path) -> None:
    module = import_map_module()
    for package in module["PACKAGES"]:
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("", encoding="utf-8")
    (tmp_path / "reports" / "late.py").write_text(
        "def f() -> None:\n    from loadtests.mix import Mix\n", encoding="utf-8"
    )
    (tmp_path / "capacity" / "typed.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import pipeline.run\n",
        encoding="utf-8",
    )
    edges = module["import_map"](tmp_path)
    assert module["violations"](edges) == [
        "capacity -> pipeline (capacity/typed.py)",
        "reports -> loadtests (reports/late.py)",
    ]
