#!/usr/bin/env python3
"""How often does `loadcap gate --baseline` call noise a regression?

Runs N pairs of identical back-to-back runs (default 20 users, 20 s, the profiles mix) against
one seeded embedded reference service, and gates the second run of each pair against the
first at --max-regression (default 15%), with the noise model and with the plain point
comparison, on the same runs. Only baseline checks count (thresholds are not the question).
Prints each pair and the false alarm rate of both models. The machine is shared: compare the
two models of one invocation, not figures across invocations.

    .venv/bin/python scripts/gate_false_alarms.py [--pairs 10] [--users 20] [--duration 20s]
"""

from __future__ import annotations

import argparse
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


def one_run(out: Path, host: str, users: int, duration_s: float) -> Path:
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
    args = parser.parse_args()
    duration_s = parse_duration(args.duration)
    allowance = parse_ratio(args.max_regression, flag="--max-regression")
    alarms = {True: 0, False: 0}
    with (
        tempfile.TemporaryDirectory(prefix="loadcap-false-alarms-") as tmp,
        ServiceProcess(profiles=args.profiles) as service,
    ):
        for pair in range(1, args.pairs + 1):
            base = one_run(Path(tmp) / f"{pair}-a", service.base_url, args.users, duration_s)
            current = one_run(Path(tmp) / f"{pair}-b", service.base_url, args.users, duration_s)
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
        f"--max-regression {args.max_regression}): false alarms with the noise model "
        f"{alarms[True]}/{args.pairs}, with the point comparison {alarms[False]}/{args.pairs}"
    )


if __name__ == "__main__":
    main()
