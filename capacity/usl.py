"""Universal Scalability Law: X(N) = lambda*N / (1 + sigma*(N-1) + kappa*N*(N-1)).

sigma (contention) and kappa (coherency) are fitted in [0, 1] and lambda (throughput of one
unit) >= 0 by bounded non-linear least squares, the same problem R's `usl` package and usl4j
solve. Two options serve measurements of a fleet (`capacity/scaleout.py`): repeated
measurements of the same N, and sigma < 0 for a superlinear curve (Gunther's reading: real
only when it is followed by a drop; the fit says so in its warnings).

Confidence intervals come from the covariance at the optimum (as R's `nls` and scipy's
`curve_fit` compute it) and the t-distribution with points - 3 degrees of freedom; the
interval of a prediction X(n) from the delta method on the same covariance.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from capacity.errors import CapacityInputError

MIN_POINTS = 4  # three parameters need at least one degree of freedom left for their errors
# Past these the model's N*(N-1) term and its least squares overflow: no fleet, no load test
# measures a million instances or a trillion req/s.
MAX_N = 1e6
MAX_THROUGHPUT = 1e12
SIGMA0, KAPPA0 = 0.01, 1e-4
NEGLIGIBLE = 1e-12
POOR_R_SQUARED = 0.9
SIGMA_AT_BOUND = 1e-6
MIN_POINTS_BEFORE_PEAK = 2.0
MIN_DISTINCT_N = 3  # with repeated measurements: three parameters need three different N
# With sigma < 0 the denominator 1 + sigma*(N-1) must stay positive over the measured N.
NEGATIVE_SIGMA_MARGIN = 0.9

FloatArray = npt.NDArray[np.float64]


def usl_throughput(n: FloatArray, sigma: float, kappa: float, lam: float) -> FloatArray:
    result: FloatArray = lam * n / (1.0 + sigma * (n - 1.0) + kappa * n * (n - 1.0))
    return result


@dataclass(frozen=True, kw_only=True)
class UslFit:
    sigma: float
    kappa: float
    lam: float
    sigma_se: float
    kappa_se: float
    lambda_se: float
    r_squared: float
    residual_se: float  # sqrt(SSE / (points - 3)), what R's summary calls "residual standard error"
    points: int
    n_max_measured: float
    # The parameters' covariance (sigma, kappa, lambda), row by row; None when singular.
    covariance: tuple[tuple[float, float, float], ...] | None = None

    @property
    def dof(self) -> int:
        """Degrees of freedom left for the errors: points - 3 parameters."""
        return self.points - 3

    def intervals(self, confidence: float = 0.95) -> dict[str, tuple[float, float]] | None:
        """sigma, kappa and lambda each +/- t(dof) x its standard error, clipped to the
        bounds the fit keeps it in (kappa, lambda >= 0; sigma <= 1); None without errors."""
        if not all(math.isfinite(se) for se in (self.sigma_se, self.kappa_se, self.lambda_se)):
            return None
        t = _t_quantile(confidence, self.dof)
        sigma_low = self.sigma - t * self.sigma_se
        return {
            "sigma": (sigma_low if self.sigma < 0 else max(sigma_low, 0.0),
                      min(self.sigma + t * self.sigma_se, 1.0)),
            "kappa": (max(self.kappa - t * self.kappa_se, 0.0),
                      min(self.kappa + t * self.kappa_se, 1.0)),
            "lambda": (max(self.lam - t * self.lambda_se, 0.0), self.lam + t * self.lambda_se),
        }  # fmt: skip

    def prediction_interval(self, n: float, confidence: float = 0.95) -> tuple[float, float] | None:
        """X(n) +/- t(dof) x its standard error by the delta method: the gradient of X(n) in
        (sigma, kappa, lambda) through the covariance. A linearisation: far beyond the measured
        N it understates how uncertain the curve is, and where a parameter sits at its bound
        it can reach values no parameters in their intervals produce, so it is kept within
        X(n) over those intervals (X falls with sigma and kappa, rises with lambda). None
        without a covariance."""
        intervals = self.intervals(confidence)
        if self.covariance is None or intervals is None:
            return None
        sigma, kappa, lam = self.params
        denominator = 1.0 + sigma * (n - 1.0) + kappa * n * (n - 1.0)
        x = lam * n / denominator
        gradient = np.array(
            [-x * (n - 1.0) / denominator, -x * n * (n - 1.0) / denominator, n / denominator]
        )
        variance = float(gradient @ np.array(self.covariance) @ gradient)
        half = _t_quantile(confidence, self.dof) * math.sqrt(max(variance, 0.0))
        (sigma_low, sigma_high), (kappa_low, kappa_high), (lam_low, lam_high) = (
            intervals["sigma"],
            intervals["kappa"],
            intervals["lambda"],
        )
        lowest = _throughput_at(n, sigma_high, kappa_high, lam_low)
        highest = _throughput_at(n, sigma_low, kappa_low, lam_high)
        return max(x - half, lowest, 0.0), min(x + half, highest)

    @property
    def peak_n(self) -> float | None:
        """N* = sqrt((1 - sigma) / kappa); with no coherency cost (kappa = 0) X(N) never falls."""
        if self.kappa <= 0:
            return None
        return math.sqrt((1.0 - self.sigma) / self.kappa)

    @property
    def peak_throughput(self) -> float | None:
        peak = self.peak_n
        return None if peak is None else self.predict(peak)

    def predict(self, n: float) -> float:
        return float(usl_throughput(np.array([n], dtype=np.float64), *self.params)[0])

    def predict_many(self, n: Sequence[float] | FloatArray) -> FloatArray:
        return usl_throughput(np.asarray(n, dtype=np.float64), *self.params)

    @property
    def warnings(self) -> list[str]:
        """What makes this fit unfit for planning, said plainly (empty when it is fine)."""
        found = []
        if self.r_squared < POOR_R_SQUARED:
            found.append(
                f"poor fit (R^2 {self.r_squared:.2f}): the measurements do not follow the USL; "
                "check them for noise or a changing bottleneck before planning with it"
            )
        if self.sigma < 0:
            found.append(
                f"sigma < 0 ({self.sigma:.3g}): superlinear scaling; Gunther (ACM Queue, 2015) "
                "finds the real kind followed by a drop, and an artefact (a starved X(1), "
                "warm-up) is more common: do not extrapolate it"
            )
        if self.sigma >= 1.0 - SIGMA_AT_BOUND:
            found.append(
                "sigma hit its bound of 1: throughput did not grow with N at all over the "
                "measured range (the load generator or one shared resource was the limit)"
            )
        peak = self.peak_n
        if peak is not None and peak < MIN_POINTS_BEFORE_PEAK:
            found.append(f"peak at N* = {peak:.1f}: no scaling to speak of")
        return found

    @property
    def params(self) -> tuple[float, float, float]:
        return self.sigma, self.kappa, self.lam

    def best_integer_n(self, max_n: int) -> int:
        """The whole number of units in [1, max_n] with the highest modelled throughput."""
        peak = self.peak_n
        if peak is None or peak >= max_n:
            return max_n
        below, above = max(1, math.floor(peak)), max(1, math.ceil(peak))
        return below if self.predict(below) >= self.predict(above) else above

    def ceiling_throughput(self, max_n: int) -> float:
        return self.predict(self.best_integer_n(max_n))

    def to_dict(self) -> dict[str, Any]:
        return {
            "sigma": self.sigma,
            "kappa": self.kappa,
            "lambda": self.lam,
            "peak_n": self.peak_n,
            "peak_throughput": self.peak_throughput,
            "std_errors": {
                "sigma": self.sigma_se,
                "kappa": self.kappa_se,
                "lambda": self.lambda_se,
            },
            "r_squared": self.r_squared,
            "residual_se": self.residual_se,
            "points": self.points,
            "contention_percent": self.sigma * 100,
            "extrapolated_peak": self.peak_n is not None and self.peak_n > self.n_max_measured,
            "warnings": self.warnings,
        }


def validate_measurements(
    n: Sequence[float], throughput: Sequence[float], *, repeated_n: bool = False
) -> tuple[FloatArray, FloatArray]:
    """Reject what no fit can use: too few points, non-positive or (unless allowed) repeated N."""
    if len(n) != len(throughput):
        raise CapacityInputError("N and throughput must have the same number of points")
    if len(n) < MIN_POINTS:
        raise CapacityInputError(
            f"a USL fit needs at least {MIN_POINTS} measurements, got {len(n)}"
        )
    ns = np.asarray(n, dtype=np.float64)
    xs = np.asarray(throughput, dtype=np.float64)
    if not (np.all(np.isfinite(ns)) and np.all(np.isfinite(xs))):
        raise CapacityInputError("N and throughput must be finite numbers")
    if np.any(ns <= 0):
        raise CapacityInputError(f"N must be positive, got {float(ns[ns <= 0][0]):g}")
    if np.any(xs <= 0):
        raise CapacityInputError(f"throughput must be positive, got {float(xs[xs <= 0][0]):g}")
    if np.any(ns > MAX_N):
        raise CapacityInputError(f"N must be at most {MAX_N:g}, got {float(ns[ns > MAX_N][0]):g}")
    if np.any(xs > MAX_THROUGHPUT):
        too_high = float(xs[xs > MAX_THROUGHPUT][0])
        raise CapacityInputError(f"throughput must be at most {MAX_THROUGHPUT:g}, got {too_high:g}")
    unique, counts = np.unique(ns, return_counts=True)
    if repeated_n and len(unique) < MIN_DISTINCT_N:
        raise CapacityInputError(
            f"a USL fit needs at least {MIN_DISTINCT_N} different N, got {len(unique)}"
        )
    if not repeated_n and np.any(counts > 1):
        raise CapacityInputError(f"duplicate N: {float(unique[counts > 1][0]):g}")
    return ns, xs


def fit_usl(
    n: Sequence[float],
    throughput: Sequence[float],
    *,
    repeated_n: bool = False,
    allow_negative_sigma: bool = False,
) -> UslFit:
    """Least-squares USL fit with bounds sigma, kappa in [0, 1], lambda >= 0.

    Two starting points (the textbook defaults and Gunther's linearisation when N = 1 was
    measured) guard against the flat valleys this model is known for; the lower SSE wins.
    `repeated_n` accepts several measurements of one N (at least three different N);
    `allow_negative_sigma` lets sigma fall below 0, as far as keeps X(N) finite over the
    measured N (the fit's warnings then say so).
    """
    ns, xs = validate_measurements(n, throughput, repeated_n=repeated_n)
    sigma_low = _lowest_sigma(float(ns.max())) if allow_negative_sigma else 0.0
    try:
        return _best_fit(ns, xs, sigma_low)
    except (np.linalg.LinAlgError, ValueError) as exc:
        raise CapacityInputError(f"the USL fit failed on these measurements: {exc}") from None


def _throughput_at(n: float, sigma: float, kappa: float, lam: float) -> float:
    """X(n), unbounded (inf) where a negative sigma leaves no positive denominator."""
    denominator = 1.0 + sigma * (n - 1.0) + kappa * n * (n - 1.0)
    return lam * n / denominator if denominator > 0 else math.inf


def _lowest_sigma(n_max: float) -> float:
    return -NEGATIVE_SIGMA_MARGIN / (n_max - 1.0) if n_max > 1.0 else 0.0


def _t_quantile(confidence: float, dof: int) -> float:
    from scipy.stats import t as student_t

    return float(student_t.ppf(0.5 + confidence / 2.0, max(dof, 1)))


def _best_fit(ns: FloatArray, xs: FloatArray, sigma_low: float = 0.0) -> UslFit:
    from scipy.optimize import least_squares  # slow to import; `plan` without a fit needs none

    best = None
    for start in _starting_points(ns, xs, sigma_low):
        result = least_squares(
            lambda p: usl_throughput(ns, *p) - xs,
            start,
            bounds=([sigma_low, 0.0, 0.0], [1.0, 1.0, np.inf]),
            x_scale="jac",
            method="trf",
            ftol=1e-15,
            xtol=1e-15,
            gtol=1e-15,
            max_nfev=10_000,
        )
        if best is None or result.cost < best.cost:
            best = result
    assert best is not None  # _starting_points always yields at least one start
    return _fit_from_result(ns, xs, best.x, best.jac)


def _starting_points(ns: FloatArray, xs: FloatArray, sigma_low: float) -> list[FloatArray]:
    starts = [np.array([SIGMA0, KAPPA0, float(np.max(xs / ns))])]
    if 1.0 in ns:
        # C(N) = X(N)/X(1) gives N/C - 1 = sigma*(N-1) + kappa*N*(N-1): linear in sigma and kappa.
        x1 = float(np.mean(xs[ns == 1.0]))
        others = ns != 1.0
        m = ns[others]
        y = m / (xs[others] / x1) - 1.0
        design = np.column_stack([m - 1.0, m * (m - 1.0)])
        (sigma, kappa), *_ = np.linalg.lstsq(design, y, rcond=None)
        sigma = min(max(sigma, sigma_low), 1.0)
        starts.append(np.array([sigma, min(max(kappa, 0.0), 1.0), x1]))
    return starts


def _fit_from_result(ns: FloatArray, xs: FloatArray, params: FloatArray, jac: FloatArray) -> UslFit:
    sigma, kappa, lam = (float(v) for v in params)
    # The optimiser leaves ~1e-18 where a bound is active; snap terms that cannot change X(N)
    # within the measured range to exactly 0, so "no coherency cost" reads as kappa = 0.
    n_max = float(ns.max())
    sigma = 0.0 if abs(sigma) * n_max < NEGLIGIBLE else sigma
    kappa = 0.0 if kappa * n_max * n_max < NEGLIGIBLE else kappa
    residuals = usl_throughput(ns, sigma, kappa, lam) - xs
    sse = float(residuals @ residuals)
    dof = len(ns) - 3
    residual_var = sse / dof
    # Covariance from the Jacobian at the optimum, as nls and curve_fit do.
    covariance = None
    try:
        cov = np.linalg.inv(jac.T @ jac) * residual_var
        std_errors = [float(math.sqrt(max(c, 0.0))) for c in np.diag(cov)]
        if np.all(np.isfinite(cov)):
            covariance = tuple((float(a), float(b), float(c)) for a, b, c in cov)
    except np.linalg.LinAlgError:
        std_errors = [math.nan] * 3
    sst = float(((xs - xs.mean()) ** 2).sum())
    return UslFit(
        sigma=sigma,
        kappa=kappa,
        lam=lam,
        sigma_se=std_errors[0],
        kappa_se=std_errors[1],
        lambda_se=std_errors[2],
        r_squared=1.0 - sse / sst if sst > 0 else 1.0,
        residual_se=math.sqrt(residual_var),
        points=len(ns),
        n_max_measured=float(ns.max()),
        covariance=covariance,
    )


def fit_summary_lines(fit: UslFit) -> list[str]:
    """The fit in a few human lines (the terminal form of `loadcap fit`)."""
    peak = (
        "none: no coherency cost (kappa = 0), throughput keeps rising"
        if fit.peak_n is None or fit.peak_throughput is None
        else f"N* = {fit.peak_n:,.1f}, X(N*) = {fit.peak_throughput:,.1f}"
    )
    if fit.peak_n is not None and fit.peak_n > fit.n_max_measured:
        peak += f" (beyond the largest measured N = {fit.n_max_measured:g}: an extrapolation)"
    return [
        f"sigma  (contention) = {fit.sigma:.6g} +/- {fit.sigma_se:.2g}",
        f"kappa  (coherency)  = {fit.kappa:.6g} +/- {fit.kappa_se:.2g}",
        f"lambda (X at N = 1) = {fit.lam:,.6g} +/- {fit.lambda_se:,.3g}",
        f"peak: {peak}",
        f"R^2 = {fit.r_squared:.4f}, residual SE {fit.residual_se:,.4g} over {fit.points} points",
        *(f"warning: {warning}" for warning in fit.warnings),
    ]
