"""A scale-out's conclusions in a few terminal lines (what `loadcap scaleout` prints).

Every figure says what it is of: X(N) is the fleet's, with its repeats' range; a point the
instances did not limit says what did; the fit's parameters carry their intervals; the seed
line and the bottleneck close it.
"""

from __future__ import annotations

from rundir.scaleout_json import Interval, ScaleoutDocument, ScaleoutFit, ScaleoutPoint


def scaleout_summary_lines(document: ScaleoutDocument) -> list[str]:
    lines = [point_line(point) for point in document.points]
    lines += fit_lines(document.fit) if document.fit else [document.fit_message or "no fit"]
    if document.bottleneck is not None:
        lines.append(document.bottleneck.sentence)
    if document.seed_line is not None:
        lines.append(document.seed_line.sentence)
    lines += [f"warning: {warning}" for warning in document.warnings]
    return lines


def point_line(point: ScaleoutPoint) -> str:
    spread = point.spread
    measured = f"N = {point.instances}: X = {point.throughput_rps:,.1f} req/s (fleet"
    if spread is not None and spread.repeats > 1:
        measured += f", {spread.min_rps:,.1f}-{spread.max_rps:,.1f} over {spread.repeats} repeats"
    measured += ")"
    if point.efficiency is not None:
        measured += f", C(N)/N {point.efficiency:.2f}"
    if point.fitted:
        measured += ", limited by the instances"
    else:
        measured += f", not fitted: {point.reason or 'no verdict'}"
    if point.superlinear:
        measured += f"; superlinear: {point.superlinear_cause}"
    return measured


def fit_lines(fit: ScaleoutFit) -> list[str]:
    level = f"{fit.confidence:.0%}"
    peak = (
        f"N* = {fit.peak_n:,.1f} (X = {fit.peak_throughput:,.0f} req/s)"
        if fit.peak_n is not None and fit.peak_throughput is not None
        else "no peak (kappa = 0): X(N) keeps rising"
    )
    counts = ", ".join(str(n) for n in fit.instance_counts)
    return [
        f"USL on instance count over {fit.points} measurements (N = {counts}), {level} intervals:",
        f"  sigma  (contention) = {fit.sigma:.4g} ({_interval(fit.sigma_interval, '.3g')})",
        f"  kappa  (coherency)  = {fit.kappa:.4g} ({_interval(fit.kappa_interval, '.3g')})",
        f"  lambda (X of one)   = {fit.lambda_:,.1f} req/s "
        f"({_interval(fit.lambda_interval, ',.1f')})",
        f"  {peak}; R^2 {fit.r_squared:.3f}" if fit.r_squared is not None else f"  {peak}",
        *(f"  warning: {warning}" for warning in fit.warnings),
    ]


def _interval(interval: Interval | None, spec: str) -> str:
    if interval is None:
        return "no interval"
    return f"{interval.low:{spec}} to {interval.high:{spec}}"
