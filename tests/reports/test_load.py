"""Run directories are read by column name, and anything unusable is one clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from reports.errors import ReportInputError
from reports.load import load_run_data
from tests.reports.recorded import PLAIN, aggregated_row, copy_run

# The column names Locust 1.x wrote (before "# requests" became "Request Count", etc.).
OLD_STATS_HEADER = (
    "Method,Name,# requests,# failures,Median response time,Average response time,"
    "Min response time,Max response time,Average Content Size,Requests/s,Failures/s,"
    "50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%"
)


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    return copy_run(PLAIN, tmp_path)


def _rewrite(path: Path, edit: str, replacement: str) -> None:
    text = path.read_text()
    assert edit in text
    path.write_text(text.replace(edit, replacement, 1))


def test_stats_are_read_into_canonical_columns(run_dir: Path) -> None:
    data = load_run_data(run_dir)
    row = aggregated_row(run_dir)

    assert int(data.aggregated["requests"]) == int(row["Request Count"])
    assert float(data.aggregated["p95_ms"]) == float(row["95%"])
    assert set(data.endpoints["endpoint"]) == {
        "GET /api/profiles",
        "GET /api/profile/{id}",
        "POST /api/profiles",
        "PATCH /api/profile/{id}",
    }


def test_older_locust_column_names_read_the_same(run_dir: Path) -> None:
    expected = load_run_data(run_dir).aggregated
    stats = run_dir / "locust_stats.csv"
    header = stats.read_text().splitlines()[0]
    _rewrite(stats, header, OLD_STATS_HEADER)

    renamed = load_run_data(run_dir).aggregated

    assert renamed[["requests", "failures", "rps", "p95_ms"]].tolist() == (
        expected[["requests", "failures", "rps", "p95_ms"]].tolist()
    )


def test_columns_a_newer_locust_adds_are_ignored(run_dir: Path) -> None:
    stats = run_dir / "locust_stats.csv"
    lines = stats.read_text().splitlines()
    stats.write_text("\n".join(f"{line},x" for line in lines) + "\n")
    stats.write_text(stats.read_text().replace("100%,x", "100%,Brand New Column", 1))

    assert int(load_run_data(run_dir).aggregated["requests"]) > 0


def test_missing_stats_csv_is_a_clear_error(run_dir: Path) -> None:
    (run_dir / "locust_stats.csv").unlink()

    with pytest.raises(ReportInputError, match=r"locust_stats\.csv: file not found"):
        load_run_data(run_dir)


def test_missing_history_csv_is_a_clear_error(run_dir: Path) -> None:
    (run_dir / "locust_stats_history.csv").unlink()

    with pytest.raises(ReportInputError, match=r"locust_stats_history\.csv: file not found"):
        load_run_data(run_dir)


def test_a_row_cut_off_mid_write_is_reported_as_truncated(run_dir: Path) -> None:
    history = run_dir / "locust_stats_history.csv"
    text = history.read_text()
    history.write_text(text[: len(text) - 40])

    with pytest.raises(ReportInputError, match=r"history\.csv: truncated or malformed row at line"):
        load_run_data(run_dir)


def test_stats_without_aggregated_row_is_reported_as_truncated(run_dir: Path) -> None:
    stats = run_dir / "locust_stats.csv"
    stats.write_text("\n".join(stats.read_text().splitlines()[:-1]) + "\n")

    with pytest.raises(ReportInputError, match="no Aggregated row"):
        load_run_data(run_dir)


def test_an_empty_file_is_a_clear_error(run_dir: Path) -> None:
    (run_dir / "locust_stats.csv").write_text("")

    with pytest.raises(ReportInputError, match="file is empty"):
        load_run_data(run_dir)


def test_unknown_columns_are_named_in_the_error(run_dir: Path) -> None:
    (run_dir / "locust_stats.csv").write_text("when,what\n1,2\n")

    with pytest.raises(
        ReportInputError, match=r"unknown column layout, missing .*found: when, what"
    ):
        load_run_data(run_dir)


def test_a_run_without_requests_is_an_empty_run(run_dir: Path) -> None:
    stats = run_dir / "locust_stats.csv"
    header = stats.read_text().splitlines()[0]
    columns = len(header.split(","))
    stats.write_text(f"{header}\n,Aggregated,0,0,0,0,0,0,0,0,0{',N/A' * (columns - 11)}\n")

    with pytest.raises(ReportInputError, match=r"no requests \(empty run\)"):
        load_run_data(run_dir)


def test_a_run_dir_that_does_not_exist_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ReportInputError, match="not a directory"):
        load_run_data(tmp_path / "nope")
