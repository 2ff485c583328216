"""A scale-out analysed: the repeats the engine measured in, `scaleout.json`'s document out.

    document = analyse_scaleout(repeats, settings)   # pure: no files, no clock, no servers

Steps, each its own module: the repeats become one point per instance count
(`scaleout_points`: median, spread, verdict, efficiency C(N)/N, superlinear flags with their
cause); the USL is fitted on instance count over every repeat of the points the instances
themselves limited (so the spread between repeats widens the intervals), with 95 %
intervals for sigma, kappa and lambda (t-distribution on the fit's covariance) and for X(100)
(the delta method); the shared tier with the lowest fleet bound is named
(`fleet_bottleneck`); and the seed's arithmetic, 100 instances x 10 req/s = 1,000 req/s, is
set beside the fit's X(100) and the linear 100 x X(1).

Fewer points than the USL needs is not an error: the document keeps the points and says in
`fit_message` what is missing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import msgspec

from capacity.errors import CapacityInputError
from capacity.fleet_bottleneck import fleet_bottleneck
from capacity.scaleout_bend import scaleout_bend
from capacity.scaleout_points import measured_points
from capacity.seed import SEED_INSTANCES, SEED_PER_INSTANCE_RPS, SEED_TARGET_RPS
from capacity.usl import MIN_DISTINCT_N, MIN_POINTS, UslFit, fit_usl
from rundir.scaleout_json import (
    Interval,
    ScaleoutBottleneck,
    ScaleoutDocument,
    ScaleoutFit,
    ScaleoutPoint,
    ScaleoutPrediction,
    ScaleoutRepeat,
    ScaleoutSeedLine,
    ScaleoutSettings,
)

CONFIDENCE = 0.95


@dataclass(frozen=True, kw_only=True)
class FittedCurve:
    """The USL fit of a scale-out, in both forms: the model (to predict) and the record."""

    model: UslFit
    record: ScaleoutFit


def analyse_scaleout(
    repeats: Sequence[ScaleoutRepeat],
    settings: ScaleoutSettings,
    *,
    allow_negative_sigma: bool = False,
) -> ScaleoutDocument:
    """The whole analysis of a scale-out's measurements (see the module docstring)."""
    if not repeats:
        raise CapacityInputError("a scale-out needs at least one measured point")
    points = measured_points(repeats)
    curve, message = fit_points(points, allow_negative_sigma=allow_negative_sigma)
    single = next((p for p in points if p.instances == 1), None)
    per_instance = (
        single.throughput_rps if single else (curve.model.lam if curve is not None else 0.0)
    )
    model = curve.model if curve is not None else None
    bottleneck = fleet_bottleneck(points, per_instance_rps=per_instance, fit=model)
    return ScaleoutDocument(
        settings=settings,
        points=points,
        fit=curve.record if curve is not None else None,
        fit_message=message,
        bottleneck=bottleneck,
        seed_line=seed_line(curve, single, settings, bottleneck=bottleneck),
        bend=scaleout_bend(points),
        warnings=_warnings(points, single),
    )


def _warnings(points: Sequence[ScaleoutPoint], single: ScaleoutPoint | None) -> list[str]:
    found = []
    if single is None:
        found.append("no N = 1 point: efficiency C(N)/N and the linear line need X(1)")
    elif not single.fitted:
        found.append(
            f"X(1) was not limited by its instance ({single.reason}): efficiencies are "
            "relative to a figure that is not one instance's capacity"
        )
    return found


def fit_points(
    points: Sequence[ScaleoutPoint], *, allow_negative_sigma: bool = False
) -> tuple[FittedCurve | None, str | None]:
    """The USL on instance count over the fitted points' repeats, or why there is none."""
    fitted = [p for p in points if p.fitted]
    ns = [float(p.instances) for p in fitted for _ in p.repeats]
    xs = [r.throughput_rps for p in fitted for r in p.repeats]
    counts = len({p.instances for p in fitted})
    if counts < MIN_DISTINCT_N or len(xs) < MIN_POINTS:
        return None, _too_few(points, counts, len(xs))
    try:
        model = fit_usl(ns, xs, repeated_n=True, allow_negative_sigma=allow_negative_sigma)
    except CapacityInputError as exc:
        return None, f"no USL fit: {exc}"
    return FittedCurve(model=model, record=_record(model, fitted, allow_negative_sigma)), None


def _too_few(points: Sequence[ScaleoutPoint], counts: int, measurements: int) -> str:
    left_out = [f"N = {p.instances}: {p.reason}" for p in points if not p.fitted]
    text = (
        f"no USL fit: it needs at least {MIN_DISTINCT_N} instance counts limited by the "
        f"instances themselves and {MIN_POINTS} measurements in all; there were {counts} "
        f"and {measurements}. Measure more instance counts (or --repeat)"
    )
    return text + (" — left out: " + "; ".join(left_out) if left_out else "") + "."


def _record(model: UslFit, fitted: Sequence[ScaleoutPoint], negative: bool) -> ScaleoutFit:
    intervals = model.intervals(CONFIDENCE)
    superlinear = [p.instances for p in fitted if p.superlinear]
    warnings = list(model.warnings)
    if superlinear:
        names = ", ".join(f"N = {n}" for n in superlinear)
        bound = "sigma may go below 0" if negative else "the fit keeps sigma >= 0"
        warnings.append(f"superlinear points in the fit ({names}): {bound}; see each point's cause")
    return ScaleoutFit(
        sigma=model.sigma,
        kappa=model.kappa,
        lambda_=model.lam,
        sigma_interval=_interval(intervals, "sigma"),
        kappa_interval=_interval(intervals, "kappa"),
        lambda_interval=_interval(intervals, "lambda"),
        confidence=CONFIDENCE,
        dof=model.dof,
        peak_n=model.peak_n,
        peak_throughput=model.peak_throughput,
        predicted_at_100=_prediction(model, SEED_INSTANCES),
        r_squared=model.r_squared,
        points=model.points,
        instance_counts=sorted({p.instances for p in fitted}),
        negative_sigma_allowed=negative,
        warnings=warnings,
    )


def _interval(intervals: dict[str, tuple[float, float]] | None, name: str) -> Interval | None:
    if intervals is None:
        return None
    low, high = intervals[name]
    return Interval(low=low, high=high)


def _prediction(model: UslFit, instances: int) -> ScaleoutPrediction:
    interval = model.prediction_interval(instances, CONFIDENCE)
    return ScaleoutPrediction(
        instances=instances,
        throughput_rps=model.predict(instances),
        interval=Interval(low=interval[0], high=interval[1]) if interval else None,
        method="delta",
    )


def seed_line(
    curve: FittedCurve | None,
    single: ScaleoutPoint | None,
    settings: ScaleoutSettings,
    *,
    bottleneck: ScaleoutBottleneck | None = None,
) -> ScaleoutSeedLine:
    """The seed's 100 x 10 req/s beside the fit's X(100) and the linear 100 x X(1), and
    the bottleneck tier's bound when a line passes it."""
    n = SEED_INSTANCES
    seed = (
        f"the seed assumes {SEED_TARGET_RPS:,.0f} (linear: {n} x {SEED_PER_INSTANCE_RPS:g} req/s)"
    )
    linear = n * single.throughput_rps if single is not None else None
    linear_text = (
        f"; linear from the measured X(1) = {single.throughput_rps:,.0f} req/s: {linear:,.0f}"
        if single is not None and linear is not None
        else ""
    )
    cap = (
        f", for instances capped at {settings.cpu_per_instance:g} core each as measured here"
        if settings.cpu_per_instance
        else ""
    )
    base = ScaleoutSeedLine(
        instances=n,
        seed_per_instance_rps=SEED_PER_INSTANCE_RPS,
        seed_assumed_rps=SEED_TARGET_RPS,
        linear_from_x1_rps=linear,
    )
    if curve is None:
        return msgspec.structs.replace(
            base,
            sentence=f"no fit to predict N = {n} with; {seed}{linear_text}"
            + _bound_text(bottleneck, [linear]),
        )
    prediction = _prediction(curve.model, n)
    interval = prediction.interval
    spread = (
        f" ({CONFIDENCE:.0%} interval {interval.low:,.0f} to {interval.high:,.0f})"
        if interval is not None
        else " (no interval: the fit's covariance is singular)"
    )
    return msgspec.structs.replace(
        base,
        predicted_rps=prediction.throughput_rps,
        interval=interval,
        sentence=(
            f"at N = {n} the fit predicts {prediction.throughput_rps:,.0f} req/s{spread}{cap}; "
            f"{seed}{linear_text}" + _bound_text(bottleneck, [prediction.throughput_rps, linear])
        ),
    )


def _bound_text(bottleneck: ScaleoutBottleneck | None, figures: Sequence[float | None]) -> str:
    """The bottleneck's bound, when a figure of the line passes it."""
    if bottleneck is None or not any(
        f is not None and f > bottleneck.fleet_bound_rps for f in figures
    ):
        return ""
    return (
        f"; but {bottleneck.tier} bounds the fleet at {bottleneck.fleet_bound_rps:,.0f} req/s "
        "as it ran here"
    )
