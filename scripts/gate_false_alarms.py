#!/usr/bin/env python3
"""How often does `loadcap gate --baseline` call noise a regression?

Runs N pairs of identical back-to-back runs (default 20 users, 20 s, the profiles mix), each
against a freshly seeded embedded reference service (as two CI jobs would), and gates the
second run of each pair against the first at --max-regression (default 15%), with the noise
model and with the plain point comparison, on the same runs. Only baseline checks count
(thresholds are not the question). Prints each pair and the false alarm rate of both models.
The machine is shared: compare the two models of one invocation, not figures across
invocations.

    .venv/bin/python scripts/gate_false_alarms.py [--pairs 10] [--users 20] [--duration 20s]
        [--one-service]

`--one-service` runs every pair against one service instead: each run then starts on the
writes of the runs before it (a bigger database, fuller caches), which is not an identical run.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.runner import RunSettings, run_load_test
from reports.gate import GateOptions, evaluate
from reports.gate_facts import load_gate_run
from reports.summary import write_summary
from rundir.units import parse_duration, parse_ratio
from target_service.process import ServiceProcess


def one_run(out: Path, host: str | None, users: int, duration_s: float, profiles: int) -> Path:
    """One run against `host`, or against a service seeded for this run alone (None)."""
    if host is None:
        with ServiceProcess(profiles=profiles) as service:
            return one_run(out, service.base_url, users, duration_s, profiles)
    settings = RunSettings(out_dir=out, host=host, users=users, duration_s=duration_s)
    outcome = run_load_test(settings)
    if outcome.exit_code != 0:
        raise SystemExit(f"run failed: {outcome.message}")
    write_summary(out)
    return out


def failed_baseline_checks(
    current: Path, baseline: Path, allowance: float, noise: bool
) -> list[str]:
    options = GateOptions(
        baseline=load_gate_run(baseline), max_regression=allowance, noise_model=noise
    )
    result = evaluate(load_gate_run(current), options)
    return [check.name for check in result.failed if check.kind == "baseline"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=10)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--duration", default="20s")
    parser.add_argument("--max-regression", default="15%")
    parser.add_argument("--profiles", type=int, default=10_000)
    parser.add_argument(
        "--one-service", action="store_true", help="every run against one service (not fresh)"
    )
    args = parser.parse_args()
    duration_s = parse_duration(args.duration)
    allowance = parse_ratio(args.max_regression, flag="--max-regression")
    alarms = {True: 0, False: 0}
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="loadcap-alarms-")))
        host = None
        if args.one_service:
            host = stack.enter_context(ServiceProcess(profiles=args.profiles)).base_url
        for pair in range(1, args.pairs + 1):
            base, current = (
                one_run(tmp / f"{pair}-{side}", host, args.users, duration_s, args.profiles)
                for side in "ab"
            )
            verdicts = []
            for noise in (True, False):
                failed = failed_baseline_checks(current, base, allowance, noise)
                alarms[noise] += bool(failed)
                label = "noise model" if noise else "point comparison"
                verdicts.append(
                    f"{label}: {len(failed)} failed" + (f" {failed[:3]}" if failed else "")
                )
            print(f"pair {pair:2d}: " + "; ".join(verdicts), flush=True)
    print(
        f"\n{args.pairs} identical pairs ({args.users} users, {args.duration}, "
        f"{'one service' if args.one_service else 'a fresh service per run'}, "
        f"--max-regression {args.max_regression}): false alarms with the noise model "
        f"{alarms[True]}/{args.pairs}, with the point comparison {alarms[False]}/{args.pairs}"
    )


if __name__ == "__main__":
    main()
