"""The gate's outputs: JUnit XML one case per check, Markdown in $GITHUB_STEP_SUMMARY."""

from __future__ import annotations

import json
from pathlib import Path

from junitparser import Failure, JUnitXml, Skipped
from typer.testing import CliRunner

from cli import EXIT_CHECK_FAILED, EXIT_OK, app
from tests.reports.gate_runs import GET, LIST, endpoint, write_run

runner = CliRunner()
# Under GitHub Actions the variable is set for real: the gate must not write there.
NO_STEP_SUMMARY: dict[str, str | None] = {"GITHUB_STEP_SUMMARY": None}


def test_junit_has_one_case_per_check_and_failures_carry_measured_vs_allowed(
    tmp_path: Path,
) -> None:
    baseline = write_run(tmp_path / "base", endpoints=[endpoint(LIST), endpoint(GET, p95=40.0)])
    current = write_run(tmp_path / "cur", endpoints=[endpoint(LIST), endpoint(GET, p95=60.0)])
    junit = tmp_path / "reports" / "gate.xml"
    args = ["gate", str(current), "--p95-ms", "10", "--p99-ms", "100", "--min-rps", "1"]
    args += ["--baseline", str(baseline), "--junit", str(junit)]
    result = runner.invoke(app, args, env=NO_STEP_SUMMARY)
    assert result.exit_code == EXIT_CHECK_FAILED

    xml = JUnitXml.fromfile(str(junit))
    cases = [case for suite in xml for case in suite]
    assert len(cases) == 1 + 3 + 3 * 5  # sanity, 3 thresholds, 5 metrics x 3 baseline scopes
    failures = {
        case.name: result.message
        for case in cases
        for result in case.result
        if isinstance(result, Failure)
    }
    assert failures == {
        "Total: p95 <= 10 ms": "measured 12 ms, allowed <= 10 ms [Locust (bucketed)]",
        f"{GET}: p95 vs baseline": (
            "measured 60 ms (+50.0%), allowed <= 44 ms (baseline 40 ms) [Locust (bucketed)]"
        ),
    }
    assert {case.classname for case in cases} == {
        "loadcap.gate.sanity",
        "loadcap.gate.threshold",
        "loadcap.gate.baseline",
    }


def test_junit_marks_skipped_checks_and_counts_them(tmp_path: Path) -> None:
    baseline = write_run(tmp_path / "base", endpoints=[endpoint(LIST, requests=10)])
    current = write_run(tmp_path / "cur", endpoints=[endpoint(LIST, requests=10)])
    junit = tmp_path / "gate.xml"
    args = ["gate", str(current), "--baseline", str(baseline), "--junit", str(junit)]
    assert runner.invoke(app, args, env=NO_STEP_SUMMARY).exit_code == EXIT_OK
    suite = next(iter(JUnitXml.fromfile(str(junit))))
    skipped = [case for case in suite if any(isinstance(r, Skipped) for r in case.result)]
    assert len(skipped) == 5
    assert (suite.tests, suite.failures, suite.skipped) == (11, 0, 5)


def test_markdown_is_appended_to_github_step_summary(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run")
    step_summary = tmp_path / "step_summary.md"
    step_summary.write_text("## earlier step\n", encoding="utf-8")
    result = runner.invoke(
        app, ["gate", str(run), "--p95-ms", "10"], env={"GITHUB_STEP_SUMMARY": str(step_summary)}
    )
    assert result.exit_code == EXIT_CHECK_FAILED
    written = step_summary.read_text(encoding="utf-8")
    assert written.startswith("## earlier step\n### loadcap gate: ❌ failed (1 of 2 checks)")
    assert result.stdout in written


def test_without_github_step_summary_only_stdout_gets_the_table(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run")
    result = runner.invoke(app, ["gate", str(run), "--p95-ms", "50"], env=NO_STEP_SUMMARY)
    assert result.exit_code == EXIT_OK
    assert result.stdout.startswith("### loadcap gate: ✅ passed (2 checks)")
    assert "| | check | measured | allowed | note |" in result.stdout
    assert list(tmp_path.iterdir()) == [run]


def test_pipes_in_endpoint_names_do_not_break_the_table(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run", endpoints=[endpoint("GET /search?q=a|b")])
    result = runner.invoke(
        app, ["gate", str(run), "-t", "GET /search?q=a|b:p95<50"], env=NO_STEP_SUMMARY
    )
    assert "| ✅ | GET /search?q=a\\|b: p95 < 50 ms |" in result.stdout


def test_unwritable_step_summary_warns_but_keeps_the_verdict(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run")
    env = {"GITHUB_STEP_SUMMARY": str(tmp_path)}  # a directory: cannot be appended to
    passing = runner.invoke(app, ["gate", str(run), "--p95-ms", "50"], env=env)
    failing = runner.invoke(app, ["gate", str(run), "--p95-ms", "5"], env=env)
    assert (passing.exit_code, failing.exit_code) == (EXIT_OK, EXIT_CHECK_FAILED)
    assert "warning: cannot append to $GITHUB_STEP_SUMMARY" in passing.stderr


def test_json_gives_the_verdict_and_every_check_with_the_same_exit_code(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run", endpoints=[endpoint(LIST), endpoint(GET, p95=60.0)])
    args = ["gate", str(run), "--json", "--p95-ms", "10", "-t", f"{GET}:p95<100"]
    result = runner.invoke(app, args, env=NO_STEP_SUMMARY)
    assert result.exit_code == EXIT_CHECK_FAILED
    verdict = json.loads(result.stdout)  # the whole of stdout is the JSON object
    assert verdict["passed"] is False and verdict["failed"] == 1
    assert verdict["run_dir"] == str(run)
    by_check = {(c["scope"], c["check"]): c for c in verdict["checks"]}
    failed = by_check[("Total", "p95 <= 10 ms")]
    assert failed["status"] == "fail"
    assert (failed["measured"], failed["allowed"]) == ("12 ms", "<= 10 ms")
    assert by_check[(GET, "p95 < 100 ms")]["status"] == "pass"
    assert {c["kind"] for c in verdict["checks"]} == {"sanity", "threshold"}

    passing = runner.invoke(app, ["gate", str(run), "--json", "--p95-ms", "50"])
    assert passing.exit_code == EXIT_OK
    assert json.loads(passing.stdout)["passed"] is True
