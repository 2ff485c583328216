"""USL fit: agreement with published fits, recovery of known parameters, clear input errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from capacity.errors import CapacityInputError
from capacity.usl import fit_summary_lines, fit_usl, usl_throughput

SPECSDM91_LOAD = [1, 18, 36, 72, 108, 144, 216]
SPECSDM91_THROUGHPUT = [64.9, 995.9, 1652.4, 1853.2, 1828.9, 1775.0, 1702.2]

# Cisco benchmark from Baron Schwartz, "Practical Scalability Analysis with the USL",
# as used by usl4j's ModelTest (github.com/codahale/usl4j,
# src/test/java/com/codahale/usl4j/tests/ModelTest.java).
CISCO = [
    (1, 955.16), (2, 1878.91), (3, 2688.01), (4, 3548.68), (5, 4315.54), (6, 5130.43),
    (7, 5931.37), (8, 6531.08), (9, 7219.8), (10, 7867.61), (11, 8278.71), (12, 8646.7),
    (13, 9047.84), (14, 9426.55), (15, 9645.37), (16, 9897.24), (17, 10097.6), (18, 10240.5),
    (19, 10532.39), (20, 10798.52), (21, 11151.43), (22, 11518.63), (23, 11806),
    (24, 12089.37), (25, 12075.41), (26, 12177.29), (27, 12211.41), (28, 12158.93),
    (29, 12155.27), (30, 12118.04), (31, 12140.4), (32, 12074.39),
]  # fmt: skip


def assert_within(actual: float, expected: float, fraction: float) -> None:
    assert abs(actual - expected) <= abs(expected) * fraction, (actual, expected)


def test_fit_matches_r_usl_package_on_specsdm91() -> None:
    """R `usl` package (github.com/smoeding/usl), tests/usl-nlxb.Rout.save for data(specsdm91):
    alpha 0.0277285 (SE 0.0091217), beta 0.0001044 (SE 0.0000199), gamma 89.9952330
    (SE 14.2134894), residual standard error 82.8 on 4 df; tests/summary.Rout.save gives
    R-squared 0.9896 and peak.scalability 97 (tests/peak-scalability.Rout.save).
    """
    fit = fit_usl(SPECSDM91_LOAD, SPECSDM91_THROUGHPUT)
    assert_within(fit.sigma, 0.0277285, 0.001)
    assert_within(fit.kappa, 0.0001044, 0.001)  # R prints 4 significant digits
    assert_within(fit.lam, 89.9952330, 0.0001)
    assert_within(fit.sigma_se, 0.0091217, 0.001)
    assert_within(fit.kappa_se, 0.0000199, 0.005)
    assert_within(fit.lambda_se, 14.2134894, 0.001)
    assert_within(fit.residual_se, 82.85, 0.001)
    assert round(fit.r_squared, 4) == 0.9896
    assert fit.peak_n is not None
    assert round(fit.peak_n) == 97


def test_fit_matches_usl4j_and_the_book_on_cisco_data() -> None:
    """usl4j's ModelTest asserts the book's values within 0.02%: sigma 0.02671591,
    kappa 7.690945e-4, lambda 995.6486, X(35) = 12341.7456205207.
    """
    fit = fit_usl([n for n, _ in CISCO], [x for _, x in CISCO])
    assert_within(fit.sigma, 0.02671591, 2e-4)
    assert_within(fit.kappa, 7.690945e-4, 2e-4)
    assert_within(fit.lam, 995.6486, 2e-4)
    assert_within(fit.predict(35), 12341.7456205207, 2e-4)
    assert fit.best_integer_n(1000) == 36 or fit.best_integer_n(1000) == 35


@pytest.mark.parametrize(
    ("sigma", "kappa", "lam"),
    [(0.05, 0.002, 120.0), (0.2, 0.0, 50.0), (0.0, 0.0001, 1000.0), (0.01, 0.01, 8.0)],
)
def test_fit_recovers_exact_synthetic_parameters(sigma: float, kappa: float, lam: float) -> None:
    n = np.array([1, 2, 4, 8, 16, 32, 64], dtype=float)
    fit = fit_usl(list(n), list(usl_throughput(n, sigma, kappa, lam)))
    assert fit.sigma == pytest.approx(sigma, abs=1e-6)
    assert fit.kappa == pytest.approx(kappa, abs=1e-8)
    assert fit.lam == pytest.approx(lam, rel=1e-6)
    assert fit.r_squared == pytest.approx(1.0, abs=1e-9)


def test_fit_recovers_parameters_from_noisy_data() -> None:
    rng = np.random.default_rng(7)
    n = np.arange(1, 65, dtype=float)
    clean = usl_throughput(n, 0.03, 0.0005, 200.0)
    noisy = clean * (1 + rng.normal(0, 0.01, n.size))
    fit = fit_usl(list(n), list(noisy))
    assert fit.sigma == pytest.approx(0.03, rel=0.1)
    assert fit.kappa == pytest.approx(0.0005, rel=0.1)
    assert fit.lam == pytest.approx(200.0, rel=0.02)
    assert fit.peak_n == pytest.approx(math.sqrt(0.97 / 0.0005), rel=0.05)


def test_peak_is_none_without_coherency_cost() -> None:
    n = np.array([1, 2, 4, 8, 16], dtype=float)
    fit = fit_usl(list(n), list(usl_throughput(n, 0.1, 0.0, 100.0)))
    assert fit.peak_n is None
    assert fit.peak_throughput is None
    assert fit.to_dict()["peak_n"] is None
    assert "none" in fit_summary_lines(fit)[3]


def test_peak_beyond_measurements_is_flagged_as_extrapolation() -> None:
    n = np.array([1, 2, 3, 4, 5], dtype=float)
    fit = fit_usl(list(n), list(usl_throughput(n, 0.02, 0.001, 100.0)))
    assert fit.to_dict()["extrapolated_peak"] is True
    assert "extrapolation" in fit_summary_lines(fit)[3]


@pytest.mark.parametrize(
    ("n", "x", "message"),
    [
        ([1, 2, 3], [1.0, 2.0, 3.0], "at least 4"),
        ([0, 1, 2, 3], [1.0, 2.0, 3.0, 4.0], "N must be positive"),
        ([-1, 1, 2, 3], [1.0, 2.0, 3.0, 4.0], "N must be positive"),
        ([1, 2, 3, 4], [1.0, 0.0, 3.0, 4.0], "throughput must be positive"),
        ([1, 2, 2, 4], [1.0, 2.0, 3.0, 4.0], "duplicate N: 2"),
        ([1, 2, 3, 4], [1.0, math.nan, 3.0, 4.0], "finite"),
    ],
)
def test_degenerate_inputs_raise_clear_errors(n: list[float], x: list[float], message: str) -> None:
    with pytest.raises(CapacityInputError, match=message):
        fit_usl(n, x)


def test_a_fit_of_flat_or_falling_throughput_says_it_is_unfit_for_planning() -> None:
    # What a 2-core machine shows when the load generator shares the CPU: no scaling at all.
    fit = fit_usl([2, 4, 8, 16], [1650.0, 1500.0, 1400.0, 1200.0])
    assert fit.warnings, fit
    assert any("sigma hit its bound" in w or "poor fit" in w for w in fit.warnings)
    assert fit.to_dict()["warnings"] == fit.warnings


def test_a_good_fit_has_no_warnings() -> None:
    n = [1, 2, 4, 8, 16, 32]
    fit = fit_usl(n, [100 * k / (1 + 0.05 * (k - 1) + 0.001 * k * (k - 1)) for k in n])
    assert fit.warnings == []
