"""Reproducible installs: constraints.txt pins what the tests ran with, bootstrap uses it."""

from __future__ import annotations

import ast
import re
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).parents[1]
PACKAGES = ("target_service", "loadtests", "reports", "capacity", "pipeline", "rundir")


def pyproject() -> dict[str, object]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def requirements(extra: str | None = None) -> list[Requirement]:
    project = pyproject()["project"]
    assert isinstance(project, dict)
    texts = project["optional-dependencies"][extra] if extra else project["dependencies"]
    return [Requirement(text) for text in texts]


def pins() -> dict[str, str]:
    pinned: dict[str, str] = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert sep, f"constraints.txt: {line!r} is not NAME==VERSION"
            pinned[canonicalize_name(name)] = version
    return pinned


def test_constraints_pin_every_declared_dependency_within_its_range() -> None:
    pinned = pins()
    for requirement in [*requirements(), *requirements("dev")]:
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{name} is not pinned in constraints.txt"
        assert requirement.specifier.contains(pinned[name]), (name, pinned[name])
    assert "loadcap" not in pinned  # the project itself is installed from the clone


def test_the_environment_the_tests_run_in_is_the_pinned_one() -> None:
    for name, version in pins().items():
        assert metadata.version(name) == version, f"{name}: installed differs from the pin"


def test_bootstrap_installs_with_the_constraints_file() -> None:
    script = (ROOT / "scripts" / "bootstrap").read_text(encoding="utf-8")
    assert re.search(r"constraints=\(-c constraints\.txt\)", script)
    assert re.search(r'pip install -q "\$\{constraints\[@\]\}" -e', script)


def test_locust_has_an_upper_bound_because_the_plugin_uses_its_internals() -> None:
    locust = next(r for r in requirements() if r.name == "locust")
    assert any(spec.operator in ("<", "<=", "~=") for spec in locust.specifier)


def _imported_top_level_modules() -> set[str]:
    modules: set[str] = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    modules |= {alias.name.split(".")[0] for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    modules.add(node.module.split(".")[0])
    return modules


def test_every_third_party_module_imported_directly_is_declared() -> None:
    declared = {canonicalize_name(r.name) for r in requirements()}
    distributions = metadata.packages_distributions()
    for module in _imported_top_level_modules():
        if module in PACKAGES or module == "cli" or module not in distributions:
            continue  # ours, or the standard library
        names = {canonicalize_name(name) for name in distributions[module]}
        assert names & declared, f"{module} is imported but {sorted(names)} is not a dependency"


def test_the_example_workflow_installs_with_the_constraints_file() -> None:
    workflow = (ROOT / "examples" / "github-actions" / "loadcap-gate.yml").read_text("utf-8")
    assert "pip install -c constraints.txt ." in workflow


def test_the_license_pyproject_names_ships_with_the_source() -> None:
    assert pyproject()["project"]["license"] == "MIT"  # type: ignore[index]
    assert "MIT License" in (ROOT / "LICENSE").read_text(encoding="utf-8")
