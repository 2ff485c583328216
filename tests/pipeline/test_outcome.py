"""What a run came to, judged from Locust's CSVs: failures within the error budget exit 0 and
say so, over it exit 1, an exception in the locustfile fails whatever the budget."""

from __future__ import annotations

from pathlib import Path

from pipeline.outcome import judge_outcome

STATS_HEADER = "Type,Name,Request Count,Failure Count\n"


def write_stats(run_dir: Path, requests: int, failures: int, errors: dict[str, int]) -> Path:
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "locust_stats.csv").write_text(
        STATS_HEADER + f",Aggregated,{requests},{failures}\n", encoding="utf-8"
    )
    rows = "".join(f"GET,/api/profiles,{error},{n}\n" for error, n in errors.items())
    (run_dir / "locust_failures.csv").write_text(
        "Method,Name,Error,Occurrences\n" + rows, encoding="utf-8"
    )
    (run_dir / "locust_exceptions.csv").write_text("Count,Message,Traceback,Nodes\n")
    return run_dir


def test_failures_within_the_error_budget_exit_zero_and_say_so(tmp_path: Path) -> None:
    run_dir = write_stats(tmp_path, 13_787, 14, {"HTTP 500, expected 200": 14})
    code, message = judge_outcome(run_dir, 1, 0.01)
    assert code == 0
    assert "14 of 13787 requests failed (0.102%, within the 1% error budget)" in message


def test_failures_over_the_error_budget_exit_one(tmp_path: Path) -> None:
    run_dir = write_stats(tmp_path, 1000, 14, {"HTTP 500, expected 200": 14})
    code, message = judge_outcome(run_dir, 1, 0.001)
    assert code == 1 and "over the 0.1% error budget" in message


def test_an_exception_in_the_locustfile_fails_whatever_the_budget(tmp_path: Path) -> None:
    run_dir = write_stats(tmp_path, 1000, 1, {"HTTP 500": 1})
    (run_dir / "locust_exceptions.csv").write_text(
        "Count,Message,Traceback,Nodes\n1,boom,trace,local\n"
    )
    assert judge_outcome(run_dir, 1, 0.5)[0] == 1
