"""compose/prometheus/: the rules load in Prometheus, and their promtool unit tests pass with
every alert shown both firing and staying quiet."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.fixtures.servers_required import require_binary

COMPOSE_DIR = Path(__file__).parents[2] / "compose"
RULES_DIR = COMPOSE_DIR / "prometheus"
RULE_FILES = sorted(RULES_DIR.glob("*.rules.yml"))
UNIT_TESTS = sorted((RULES_DIR / "tests").glob("*.test.yml"))


def _yaml(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return loaded


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    promtool = require_binary("promtool", "/usr/bin/promtool")
    return subprocess.run(
        [promtool, *args], capture_output=True, text=True, timeout=120, check=False
    )


def alert_names() -> set[str]:
    return {
        rule["alert"]
        for path in RULE_FILES
        for group in _yaml(path)["groups"]
        for rule in group["rules"]
        if "alert" in rule
    }


@pytest.mark.servers  # runs promtool, from the prometheus Debian package
def test_promtool_accepts_every_rule_file() -> None:
    checked = _promtool("check", "rules", *map(str, RULE_FILES))
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.servers  # runs promtool, from the prometheus Debian package
def test_the_rule_unit_tests_pass() -> None:
    tested = _promtool("test", "rules", *map(str, UNIT_TESTS))
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_every_alert_is_tested_both_firing_and_quiet() -> None:
    firing: set[str] = set()
    quiet: set[str] = set()
    for path in UNIT_TESTS:
        unit = _yaml(path)
        assert {(path.parent / f).resolve() for f in unit["rule_files"]} <= {
            f.resolve() for f in RULE_FILES
        }
        for case in unit["tests"]:
            for check in case.get("alert_rule_test", []):
                (firing if check.get("exp_alerts") else quiet).add(check["alertname"])
    alerts = alert_names()
    assert alerts >= {
        "AvailabilityBudgetBurnFast",
        "AvailabilityBudgetBurnSlow",
        "LatencyBudgetBurnFast",
        "LatencyBudgetBurnSlow",
        "InstanceDown",
        "ReplicaLagHigh",
        "DbPoolSaturated",
        "CacheHitRatioCollapsed",
        "CapacityDrift",
    }
    assert alerts - firing == set(), "alerts never shown firing"
    assert alerts - quiet == set(), "alerts never shown staying quiet"


@pytest.mark.servers  # runs promtool, from the prometheus Debian package
def test_compose_prometheus_loads_every_rule_file(tmp_path: Path) -> None:
    config = _yaml(COMPOSE_DIR / "prometheus.yml")
    compose = _yaml(COMPOSE_DIR / "docker-compose.yml")
    mounts = dict(
        volume.removesuffix(":ro").split(":", 1)
        for volume in compose["services"]["prometheus"]["volumes"]
    )
    mounted = mounts["./prometheus"]
    patterns = config["rule_files"]
    assert all(pattern.startswith(mounted + "/") for pattern in patterns)
    # The same configuration with the mount's path on this machine: promtool checks that it
    # parses and that every rule file it names loads.
    config["rule_files"] = [str(RULES_DIR) + p.removeprefix(mounted) for p in patterns]
    local = tmp_path / "prometheus.yml"
    local.write_text(yaml.safe_dump(config), encoding="utf-8")
    checked = _promtool("check", "config", str(local))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    for path in RULE_FILES:
        assert path.name in checked.stdout
