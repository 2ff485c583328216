"""`loadcap gate --json`: the verdict and every check as one JSON object, for CI scripts.

The same checks as the Markdown table and the JUnit file (docs/ci.md); the exit code is the
verdict's either way (0 pass, 1 fail, 2 bad input).
"""

from __future__ import annotations

import msgspec

from reports.gate import GateResult, Status


class GateCheck(msgspec.Struct, frozen=True, kw_only=True):
    kind: str  # sanity, threshold or baseline
    scope: str  # "Total" or an endpoint
    check: str  # "p95 <= 50 ms", "p95 vs baseline"
    measured: str
    allowed: str
    status: Status
    note: str  # which percentiles were used, or why the check was skipped


class GateVerdict(msgspec.Struct, frozen=True, kw_only=True):
    passed: bool
    run_dir: str
    failed: int
    checks: list[GateCheck]
    warnings: list[str]


def gate_json(result: GateResult) -> str:
    verdict = GateVerdict(
        passed=result.passed,
        run_dir=str(result.run.run_dir),
        failed=len(result.failed),
        checks=[
            GateCheck(
                kind=check.kind, scope=check.scope, check=check.description,
                measured=check.measured, allowed=check.allowed, status=check.status,
                note=check.note,
            )
            for check in result.checks
        ],
        warnings=list(result.warnings),
    )  # fmt: skip
    return msgspec.json.format(msgspec.json.encode(verdict).decode(), indent=2) + "\n"
