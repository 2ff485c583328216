"""`loadcap plan --fit DIR/scaleout.csv` with scaleout.json beside it: the fit of the points
the instances limited, the tier that bounds the fleet and the measured connections."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest
from typer.testing import CliRunner

from capacity.scaleout import analyse_scaleout
from cli import app
from rundir.scaleout_json import (
    NodeConnections,
    ScaleoutDocument,
    ScaleoutRepeat,
    ScaleoutSettings,
    ScaleoutTier,
    write_scaleout,
    write_scaleout_csv,
)

runner = CliRunner()
# X(N) = 200N / (1 + 0.05(N-1)); N = 6 measured at half that, limited by the load generator.
USL = {n: 200 * n / (1 + 0.05 * (n - 1)) for n in (1, 2, 3, 4, 5)}


def master(x: float) -> ScaleoutTier:
    # 2 CPU-ms a request on one core: the fleet cannot pass 500 req/s through the master.
    return ScaleoutTier(
        name="master", role="shared", cpu_s=x * 0.002, requests=x, cores_available=1.0
    )


def scaleout_document() -> ScaleoutDocument:
    repeats = [
        ScaleoutRepeat(
            instances=n,
            throughput_rps=x,
            first_limit="instances",
            tiers=[master(x)],
            connections=[
                NodeConnections(node="master", threads_connected=10 * n + 1, max_connections=151)
            ],
        )
        for n, x in USL.items()
    ]
    repeats.append(ScaleoutRepeat(instances=6, throughput_rps=500.0, first_limit="load_generator"))
    return analyse_scaleout(repeats, ScaleoutSettings(instances=[1, 2, 3, 4, 5, 6], pool_size=10))


@pytest.fixture(name="scaleout_csv")
def fixture_scaleout_csv(tmp_path: Path) -> Path:
    document = scaleout_document()
    write_scaleout(tmp_path / "scaleout.json", document)
    return write_scaleout_csv(tmp_path / "scaleout.csv", document)


def plan_json(csv_path: Path, *args: str) -> dict[str, object]:
    result = runner.invoke(app, ["plan", "--fit", str(csv_path), "--json", *args])
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads(result.stdout)
    return data


def test_the_plan_fits_only_what_the_instances_limited_and_names_the_bottleneck(
    scaleout_csv: Path,
) -> None:
    data = plan_json(scaleout_csv)
    usl = data["usl"]
    assert isinstance(usl, dict)
    assert usl["sigma"] == pytest.approx(0.05, abs=1e-6)  # N = 6 left out of the fit
    notes = "\n".join(str(n) for n in data["report_notes"])  # type: ignore[attr-defined]
    assert "rows something else limited are left out" in notes
    assert "fleet bottleneck (measured): master limits the fleet first" in notes
    assert "the target 1,000 req/s exceeds what master carried" in notes  # bound: 500 req/s


def test_the_plan_reads_the_connections_of_the_largest_measured_fleet(tmp_path: Path) -> None:
    full = scaleout_document()
    # Without N = 6 (no connections read there) the largest fleet measured is N = 5.
    document = msgspec.structs.replace(full, points=full.points[:-1])
    write_scaleout(tmp_path / "scaleout.json", document)
    data = plan_json(write_scaleout_csv(tmp_path / "scaleout.csv", document))
    notes = "\n".join(str(n) for n in data["report_notes"])  # type: ignore[attr-defined]
    assert "connections measured on master: 51 at N = 5" in notes
    assert "admits 15 instances at 10 connections each" in notes


def test_a_broken_scaleout_json_beside_the_csv_is_bad_input(scaleout_csv: Path) -> None:
    scaleout_csv.with_name("scaleout.json").write_text("{", encoding="utf-8")
    result = runner.invoke(app, ["plan", "--fit", str(scaleout_csv), "--json"])
    assert result.exit_code == 2
    assert "scaleout.json" in result.stderr


def test_without_scaleout_json_the_csv_still_leaves_out_what_was_not_fitted(
    scaleout_csv: Path,
) -> None:
    scaleout_csv.with_name("scaleout.json").unlink()
    data = plan_json(scaleout_csv, "--target-rps", "300")
    usl = data["usl"]
    assert isinstance(usl, dict)
    # N = 6 at 500 req/s (the generator's limit) would bend the curve; its row says fitted=false.
    assert usl["sigma"] == pytest.approx(0.05, abs=1e-3)
    notes = "\n".join(str(n) for n in data["report_notes"])  # type: ignore[attr-defined]
    assert "left out 1 row of scaleout.csv" in notes
    assert "N = 6 (first limit: load_generator)" in notes


def test_lambda_of_capped_instances_is_scaled_to_the_plans_instance_type(tmp_path: Path) -> None:
    # Instances capped at 0.25 core carried lambda = 200 req/s each; a t3.medium has 2 vCPUs,
    # so one plan instance is 8 such units: 1,600 req/s, not 200.
    full = scaleout_document()
    settings = msgspec.structs.replace(full.settings, cpu_per_instance=0.25)
    document = msgspec.structs.replace(full, settings=settings)
    write_scaleout(tmp_path / "scaleout.json", document)
    data = plan_json(
        write_scaleout_csv(tmp_path / "scaleout.csv", document), "--instance-type", "t3.medium"
    )
    usl = data["usl"]
    assert isinstance(usl, dict)
    assert usl["lambda"] == pytest.approx(1600.0, rel=1e-3)
    assert usl["sigma"] == pytest.approx(0.05, abs=1e-6)
    notes = "\n".join(str(n) for n in data["report_notes"])  # type: ignore[attr-defined]
    assert "one instance capped at 0.25 core; x 8 for the plan's 2 vCPU" in notes
