"""`loadcap sweep`: real short runs against the embedded service, written as the CSV that
`loadcap fit` reads."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from capacity.usl_csv import read_measurements
from cli import app
from loadtests.errors import LoadTestError
from pipeline.sweep import SweepSettings, parse_levels

pytestmark = pytest.mark.servers  # starts the service, Locust or a browser


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sweep") / "s"
    result = CliRunner().invoke(
        app,
        ["sweep", "--levels", "1,2,4,8", "--level-duration", "3s", "--workers", "1,2",
         "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "sigma" in result.output  # the fit of the four concurrency levels
    assert "no USL fit: 2 points" in result.output  # two worker counts are too few
    return out


def test_sweep_writes_one_measured_row_per_level_readable_by_fit(sweep_dir: Path) -> None:
    data = read_measurements(sweep_dir / "sweep.csv")
    assert list(data.n) == [1, 2, 4, 8]
    assert all(x > 0 for x in data.throughput)
    with (sweep_dir / "sweep.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:  # each level is a complete run directory of its own
        assert (sweep_dir / row["run_dir"] / "summary.json").is_file()
        assert float(row["error_rate"]) == 0.0
    fitted = CliRunner().invoke(app, ["fit", str(sweep_dir / "sweep.csv"), "--json"])
    assert fitted.exit_code == 0, fitted.output


def test_worker_sweep_measures_each_worker_count(sweep_dir: Path) -> None:
    with (sweep_dir / "workers.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["processors"]) for r in rows] == [1, 2]
    assert all(float(r["throughput"]) > 0 for r in rows)


@pytest.mark.parametrize("text", ["", "a,b", "1,,x", "2.5"])
def test_levels_must_be_whole_numbers(text: str) -> None:
    with pytest.raises(LoadTestError):
        parse_levels(text, flag="--levels")


@pytest.mark.parametrize(
    "changes",
    [
        {"levels": (0, 2)},
        {"levels": (2, 2)},
        {"workers": (1, 2), "host": "http://127.0.0.1:9"},
        {"level_duration_s": 0},
    ],
)
def test_bad_sweep_settings_are_refused(tmp_path: Path, changes: dict[str, object]) -> None:
    with pytest.raises(LoadTestError):
        SweepSettings(out_dir=tmp_path, **changes)  # type: ignore[arg-type]


def test_bad_levels_flag_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["sweep", "--levels", "x", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "--levels" in result.output
