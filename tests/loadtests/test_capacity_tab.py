import math

import pytest

from loadtests import capacity_tab


def test_estimate_uses_the_capacity_package_when_present() -> None:
    plan = capacity_tab.estimate(current_rps=100.0, target_rps=1000.0)
    assert plan["source"] == "capacity package"
    assert plan["instances"] >= math.ceil(1000 / 100)
    assert plan["monthly_usd"] > 0


def test_fallback_formula_matches_the_issue(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def no_capacity(name: str, *args: object, **kwargs: object) -> object:
        if name.startswith("capacity"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_capacity)
    plan = capacity_tab.estimate(current_rps=50.0, target_rps=1000.0)
    assert plan["source"] == "simple formula"
    assert plan["instances"] == math.ceil(1000 / (50 * 0.7)) + 1 == 30
    assert plan["monthly_usd"] == round(30 * 0.0416 * 730, 2)


def test_rows_show_dashes_before_any_load() -> None:
    rows = {r["metric"]: r["value"] for r in capacity_tab.capacity_rows(0.0, None, 1000.0)}
    assert rows["Instances needed"] == "-"
    assert rows["Current p95 (ms)"] == "-"
    assert rows["Target load (req/s)"] == "1000"


def test_rows_show_instances_and_cost_under_load() -> None:
    rows = {r["metric"]: r["value"] for r in capacity_tab.capacity_rows(200.0, 12.0, 1000.0)}
    assert int(rows["Instances needed"]) >= 5
    assert rows["Monthly cost (USD)"].startswith("$")
    assert rows["Current p95 (ms)"] == "12"


def test_the_tab_points_to_where_the_target_load_is_edited() -> None:
    assert "/capacity" in capacity_tab.EDIT_HINT["value"]
