"""The CI benchmark gate: judge a run against thresholds and against a baseline run.

Every judgement is a `Check` (pass, fail or skip) so the Markdown table and the JUnit file
show the same thing. Percentiles are the exact HDR ones when the run recorded them, Locust's
bucketed ones otherwise; each check says which it used.

Baseline regression, per metric and per scope (totals and each endpoint of the baseline):
a latency percentile or the error rate fails when it rose by more than
`max(max_regression x baseline, noise floor)`; throughput fails when it fell by more than
`max(max_regression x baseline, rps floor)`. The floors keep tiny absolute moves near zero
(1 ms -> 2 ms is +100%, and Locust rounds latencies to whole milliseconds) from flapping.
Scopes with fewer than `min_requests` requests in either run are skipped: their tail
percentiles are a handful of samples. A percentile is compared only when both runs have enough
requests for it to rest on `TAIL_SAMPLES` requests above it (a p99 needs 1,000, a p95 200):
below that it is the run's few slowest requests, and one slow request moves it by a rank.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from reports import gate_noise
from reports.errors import GateInputError
from reports.gate_facts import TOTAL, GateRun, ScopeFacts
from reports.thresholds import (
    METRICS,
    PERCENTILES,
    Metric,
    Threshold,
    totals_threshold,
)
from rundir.units import format_ratio

Status = Literal["pass", "fail", "skip"]
BASELINE_METRICS = ("p50", "p95", "p99", "error_rate", "rps")


@dataclass(frozen=True, kw_only=True)
class Check:
    kind: Literal["sanity", "threshold", "baseline"]
    scope: str
    description: str  # "p95 < 50 ms", "p95 vs baseline"
    measured: str
    allowed: str
    status: Status
    note: str = ""  # which percentiles, or why skipped

    @property
    def name(self) -> str:
        return f"{self.scope}: {self.description}"


@dataclass(frozen=True, kw_only=True)
class GateOptions:
    thresholds: tuple[Threshold, ...] = ()
    baseline: GateRun | None = None
    max_regression: float = 0.10
    noise_floor_ms: float = 2.0
    noise_floor_rps: float = 1.0
    noise_floor_error_rate: float = 0.005
    min_requests: int = 50
    # A run whose load generator saturated measured the generator's throughput: throughput
    # checks on it fail unless this says the user knows.
    allow_saturated_generator: bool = False
    noise_model: bool = True  # judge baseline changes against the runs' own wobble


@dataclass(frozen=True)
class GateResult:
    run: GateRun
    options: GateOptions
    checks: tuple[Check, ...] = field(default_factory=tuple)
    warnings: tuple[str, ...] = ()

    @property
    def failed(self) -> tuple[Check, ...]:
        return tuple(check for check in self.checks if check.status == "fail")

    @property
    def passed(self) -> bool:
        return not self.failed


def evaluate(run: GateRun, options: GateOptions) -> GateResult:
    """Run every check. Raise GateInputError when there is nothing to check or a bad name."""
    thresholds = options.thresholds or slo_thresholds(run)
    if not thresholds and options.baseline is None:
        raise GateInputError(
            "nothing to check: give a threshold (--p95-ms, --threshold ...) or --baseline "
            f"(and {run.run_dir / 'summary.json'} has no slo to fall back on)"
        )
    checks = [_made_requests(run.totals)]
    checks += measurement_validity(run, thresholds, options)
    checks += [check_threshold(run, threshold) for threshold in thresholds]
    warnings: list[str] = []
    if options.baseline is not None:
        checks += check_baseline(run, options.baseline, options)
        warnings += gate_noise.load_warnings(run.run_dir, options.baseline.run_dir)
    return GateResult(run, options, tuple(checks), tuple(warnings))


def measurement_validity(
    run: GateRun, thresholds: tuple[Threshold, ...], options: GateOptions
) -> list[Check]:
    """A throughput check is only meaningful on a run the service, not Locust, limited."""
    checks_throughput = options.baseline is not None or any(
        t.metric.name == "rps" for t in thresholds
    )
    if not checks_throughput:
        return []
    capped = [r for r in (run, options.baseline) if r is not None and r.generator_saturated]
    if not capped:
        return []
    which = " and ".join(
        "this run" if r is run else f"the baseline ({r.run_dir.name})" for r in capped
    )
    allowed = options.allow_saturated_generator
    return [
        Check(
            kind="sanity",
            scope=TOTAL,
            description="throughput measures the service",
            measured=f"load generator saturated in {which}",
            allowed="a run the service limited"
            + (" (waived by --allow-saturated-generator)" if allowed else ""),
            status="pass" if allowed else "fail",
            note="the throughput compared is Locust's ceiling, not the service's: give Locust "
            "more CPU (--processes, another machine) or pass --allow-saturated-generator",
        )
    ]


def slo_thresholds(run: GateRun) -> tuple[Threshold, ...]:
    """With no threshold given, the run's own SLO (summary.json `slo`) is the bar."""
    thresholds = []
    if run.slo_p95_ms is not None:
        thresholds.append(totals_threshold("p95", "<=", run.slo_p95_ms))
    if run.slo_max_error_rate is not None:
        thresholds.append(totals_threshold("error_rate", "<=", run.slo_max_error_rate))
    return tuple(thresholds)


def check_threshold(run: GateRun, threshold: Threshold) -> Check:
    scope = run.scope(threshold.endpoint)
    description = f"{threshold.metric.name} {threshold.allowed}"
    if scope.requests == 0:
        # A threshold on something that was not exercised must not pass silently.
        return Check(
            kind="threshold",
            scope=scope.name,
            description=description,
            measured="no requests",
            allowed=threshold.allowed,
            status="fail",
        )
    measured = _measure(scope, threshold.metric, exact=True)
    return Check(
        kind="threshold",
        scope=scope.name,
        description=description,
        measured=threshold.metric.format(measured),
        allowed=threshold.allowed,
        status="pass" if threshold.holds(measured) else "fail",
        note=_source(scope, threshold.metric, exact=True),
    )


Windows = tuple[gate_noise.WindowSeries | None, gate_noise.WindowSeries | None]

# A percentile compared against a baseline rests on at least this many requests above it. With
# fewer its value is one of the run's few slowest requests: two identical 6 s runs at 200 req/s
# gave a POST p95 (60 requests, 3 above it) of 4.2 ms and 8.4 ms (docs/ci.md).
TAIL_SAMPLES = 10


def requests_needed(metric: Metric, min_requests: int) -> int:
    """How many requests each run needs for `metric` to be compared against a baseline."""
    if metric.quantile is None:
        return min_requests
    return max(min_requests, math.ceil(TAIL_SAMPLES / (1.0 - metric.quantile) - 1e-9))


def check_baseline(run: GateRun, baseline: GateRun, options: GateOptions) -> list[Check]:
    checks: list[Check] = []
    windows: Windows = (None, None)
    if options.noise_model:
        windows = (gate_noise.load_windows(baseline.run_dir), gate_noise.load_windows(run.run_dir))
    for name in [TOTAL, *baseline.endpoints]:
        before = baseline.totals if name == TOTAL else baseline.endpoints[name]
        after = run.totals if name == TOTAL else run.endpoints.get(name)
        if after is None:
            checks.append(_missing_endpoint(name))
            continue
        for metric_name in BASELINE_METRICS:
            checks.append(_compare(after, before, METRICS[metric_name], options, windows))
    return checks


def _noise_interval(scope: str, metric: Metric, windows: Windows) -> gate_noise.Interval | None:
    """The bootstrap interval of the change when both runs have enough one-second windows."""
    before_series, after_series = windows
    if before_series is None or after_series is None:
        return None
    before = before_series.samples(scope, metric.name)
    after = after_series.samples(scope, metric.name)
    if before is None or after is None:
        return None
    interval = gate_noise.change_interval(before, after, metric=metric.name)
    return gate_noise.with_machine_drift(interval, before_series, after_series, metric.name)


def _compare(
    after: ScopeFacts,
    before: ScopeFacts,
    metric: Metric,
    opts: GateOptions,
    windows: Windows = (None, None),
) -> Check:
    # Compare like with like: exact percentiles only when both runs have them.
    exact = after.exact_has(metric.name) and before.exact_has(metric.name)
    exact = exact and after.hdr_clock == before.hdr_clock
    description = f"{metric.name} vs baseline"
    fewest = min(after.requests, before.requests)
    needed = requests_needed(metric, opts.min_requests)
    current, previous = _maybe(after, metric, exact), _maybe(before, metric, exact)
    if fewest < needed or current is None or previous is None:
        why = f"{metric.name} not recorded in both runs"
        if fewest < opts.min_requests:
            why = f"too few requests to compare ({fewest:.0f} < {opts.min_requests})"
        elif fewest < needed:
            why = (
                f"too few requests for a {metric.name} ({fewest:.0f} < {needed:,}: fewer than "
                f"{TAIL_SAMPLES} requests above it); a longer run compares it"
            )
        shown = metric.format(current) if current is not None else "n/a"
        return Check(
            kind="baseline",
            scope=after.name,
            description=description,
            measured=shown,
            allowed="n/a",
            status="skip",
            note=why,
        )
    floor = {"ms": opts.noise_floor_ms, "req/s": opts.noise_floor_rps}.get(
        metric.unit, opts.noise_floor_error_rate
    )
    allowance = max(opts.max_regression * previous, floor)
    if metric.higher_is_better:
        limit, ok, op = previous - allowance, current >= previous - allowance, ">="
    else:
        limit, ok, op = previous + allowance, current <= previous + allowance, "<="
    change = f"{(current - previous) / previous:+.1%}" if previous else "from 0"
    note = _source(after, metric, exact=exact)
    interval = _noise_interval(after.name, metric, windows) if metric.unit != "" else None
    if interval is not None and not ok:
        # Past the allowance on the whole-run figures: a regression only when the runs'
        # one-second windows say it is more than noise (reports/gate_noise.py).
        ok = not gate_noise.regressed_beyond_noise(
            interval, opts.max_regression, higher_is_better=metric.higher_is_better
        )
    if interval is not None:
        note = "; ".join(part for part in (note, interval.describe()) if part)
    return Check(
        kind="baseline",
        scope=after.name,
        description=description,
        measured=f"{metric.format(current)} ({change})",
        allowed=f"{op} {metric.format(max(limit, 0.0))} (baseline {metric.format(previous)})",
        status="pass" if ok else "fail",
        note=note,
    )


def _made_requests(totals: ScopeFacts) -> Check:
    return Check(
        kind="sanity",
        scope=TOTAL,
        description="requests > 0",
        measured=f"{totals.requests:.0f}",
        allowed="> 0",
        status="pass" if totals.requests > 0 else "fail",
    )


def _missing_endpoint(name: str) -> Check:
    return Check(
        kind="baseline",
        scope=name,
        description="present as in baseline",
        measured="absent",
        allowed="present",
        status="fail",
        note="the baseline exercised this endpoint; this run did not",
    )


def _measure(scope: ScopeFacts, metric: Metric, *, exact: bool) -> float:
    value = _maybe(scope, metric, exact)
    if value is None:
        raise GateInputError(
            f"{metric.name} of {scope.name} is not in summary.json (nor in hdr.json)"
        )
    return value


def _maybe(scope: ScopeFacts, metric: Metric, exact: bool) -> float | None:
    if metric.name in PERCENTILES:
        return scope.percentile(metric.name, exact=exact)
    return scope.error_rate if metric.name == "error_rate" else scope.rps


def _source(scope: ScopeFacts, metric: Metric, *, exact: bool) -> str:
    if metric.name not in PERCENTILES:
        return ""
    if not (exact and scope.exact_has(metric.name)):
        return "Locust (bucketed)"
    return (
        "HDR (exact, from intended send time)" if scope.hdr_clock == "intended" else "HDR (exact)"
    )


_ICONS: dict[Status, str] = {"pass": "✅", "fail": "❌", "skip": "⏭️"}


def render_markdown(result: GateResult) -> str:
    """The gate's verdict as Markdown: a headline, where the numbers came from, one row a check."""
    checks = result.checks
    failed = len(result.failed)
    headline = (
        f"✅ passed ({len(checks)} checks)"
        if result.passed
        else f"❌ failed ({failed} of {len(checks)} checks)"
    )
    lines = [
        f"### loadcap gate: {headline}",
        "",
        f"Run `{result.run.run_dir}`; percentiles: {percentile_provenance(result.run)}.",
    ]
    lines += [f"> ⚠️ warning: {warning}" for warning in result.warnings]
    baseline, opts = result.options.baseline, result.options
    if baseline is not None:
        lines.append(
            f"Baseline `{baseline.run_dir}`: max regression {format_ratio(opts.max_regression)}, "
            f"noise floors {opts.noise_floor_ms:g} ms, {opts.noise_floor_rps:g} req/s, "
            f"{format_ratio(opts.noise_floor_error_rate)} error rate; "
            f"scopes under {opts.min_requests} requests skipped, percentiles with fewer than "
            f"{TAIL_SAMPLES} requests above them skipped"
            + (
                "; a change fails only when its bootstrap confidence interval lies past the "
                "allowance (noise model, docs/ci.md)."
                if opts.noise_model
                else "."
            )
        )
    lines += ["", "| | check | measured | allowed | note |", "|---|---|---|---|---|"]
    for check in checks:
        cells = [_ICONS[check.status], check.name, check.measured, check.allowed, check.note]
        lines.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
    return "\n".join(lines) + "\n"


def percentile_provenance(run: GateRun) -> str:
    if run.has_hdr and run.totals.hdr_clock == "intended":
        return "exact, from HDR histograms, from each request's intended send time (open model)"
    if run.has_hdr:
        return "exact, from HDR histograms"
    return "Locust's (bucketed, about 2 significant digits; the run has no HDR percentiles)"


def _cell(text: str) -> str:
    # A pipe in an endpoint name would split the table row.
    return text.replace("|", "\\|")


def append_step_summary(markdown: str, environ: Mapping[str, str]) -> Path | None:
    """Append to the file GitHub Actions names in $GITHUB_STEP_SUMMARY, when it names one."""
    target = environ.get("GITHUB_STEP_SUMMARY", "").strip()
    if not target:
        return None
    path = Path(target)
    try:
        with path.open("a", encoding="utf-8") as summary:
            summary.write(markdown + "\n")
    except OSError as exc:
        raise GateInputError(
            f"cannot append to $GITHUB_STEP_SUMMARY {path}: {exc.strerror}"
        ) from None
    return path
