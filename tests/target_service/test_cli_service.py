"""`loadcap db init`, `loadcap db seed` and `loadcap serve` flag handling."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from tests.fixtures.mariadb_server import MariaDBServer

pytestmark = pytest.mark.servers  # starts the service, Locust or a browser

runner = CliRunner()
REPO = Path(__file__).resolve().parents[2]


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


def loadcap(*args: str) -> subprocess.CompletedProcess[str]:
    """The console script's entry point (`cli.main`), which CliRunner does not go through."""
    return subprocess.run(
        [sys.executable, "-c", "import cli; cli.main()", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )


def test_usage_mistakes_are_one_line_on_stderr_and_exit_2(tmp_path: Path) -> None:
    for args in (
        ["serve", "--port", "abc"],
        ["serve", "--no-such-flag"],
        ["db", "seed", "--profiles", "0"],
        ["db", "init", "--db", "postgres://nope"],
    ):
        done = loadcap(*args)
        assert done.returncode == 2, (args, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (args, done.stderr)
        assert done.stdout == "", (args, done.stdout)
    done = loadcap("db", "init", "--db", f"sqlite:///{tmp_path / 'ok.db'}")
    assert done.returncode == 0, done.stderr


def test_database_passwords_never_reach_the_output(mariadb_db: MariaDBServer) -> None:
    mariadb_db.sql(
        "CREATE USER IF NOT EXISTS 'seeder'@'127.0.0.1' IDENTIFIED BY 'pa55-w0rd'; "
        "GRANT ALL ON *.* TO 'seeder'@'127.0.0.1'"
    )
    url = f"mysql://seeder:pa55-w0rd@127.0.0.1:{mariadb_db.port}/loadcap"
    for args in (["db", "init", "--db", url], ["db", "seed", "--db", url, "--profiles", "10"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        assert f"127.0.0.1:{mariadb_db.port}/loadcap" in result.output
        assert "pa55-w0rd" not in result.output
    wrong = url.replace("pa55-w0rd", "wr0ng-pa55")
    result = runner.invoke(app, ["db", "init", "--db", wrong])
    assert result.exit_code == 2
    assert "wr0ng-pa55" not in result.output
