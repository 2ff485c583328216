"""`loadcap db init`, `loadcap db seed` and `loadcap serve` flag handling."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from typer.testing import CliRunner

from cli import app

runner = CliRunner()


def test_db_init_then_seed_fills_the_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert runner.invoke(app, ["db", "init", "--db", url]).exit_code == 0
    result = runner.invoke(app, ["db", "seed", "--db", url, "--profiles", "2500"])
    assert result.exit_code == 0, result.output
    assert "inserted 2,500 profiles" in result.output
    with sqlite3.connect(tmp_path / "cli.db") as conn:
        count, emails = conn.execute(
            "SELECT COUNT(*), COUNT(DISTINCT email) FROM profiles"
        ).fetchone()
    assert count == emails == 2500


def test_seeding_twice_adds_more_without_email_collisions(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'twice.db'}"
    for _ in range(2):
        assert runner.invoke(app, ["db", "seed", "--db", url, "--profiles", "300"]).exit_code == 0
    with sqlite3.connect(tmp_path / "twice.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM profiles").fetchone() == (600,)


def test_bad_urls_and_flags_are_one_line_and_exit_2(tmp_path: Path) -> None:
    cases = [
        ["db", "init", "--db", "postgres://nope"],
        ["db", "seed", "--db", "sqlite:///x.db", "--profiles", "0"],
        ["serve", "--rate-limit", "lots"],
        ["serve", "--redis", "http://localhost:6379"],
        ["serve", "--db", f"sqlite:///{tmp_path}/a.db", "--replica", "sqlite:///b.db"],
        ["serve", "--port", "70000"],
    ]
    for args in cases:
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        assert "Traceback" not in result.output


def test_unreachable_mysql_is_a_clear_error() -> None:
    result = runner.invoke(app, ["db", "init", "--db", "mysql://root@127.0.0.1:1/loadcap"])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
