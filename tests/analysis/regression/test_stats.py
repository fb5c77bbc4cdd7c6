"""Regression statistics: exactness of the pieces, then the issue's simulation targets."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

from exabench.analysis.regression.stats import (
    HIGHER,
    Gate,
    bootstrap_medians,
    compare_samples,
    inverted,
    mann_whitney_p,
    min_p_value,
    ratio_ci,
    robust_cv,
)
from exabench.errors import UserError


def test_min_p_value_matches_the_reference_table() -> None:
    # 2 / C(m + n, m): 3v3 0.1, 4v4 0.029, 5v5 0.0079, 6v6 0.0022, 7v7 0.00058 (docs/regression.md)
    assert min_p_value(3, 3) == pytest.approx(0.1)
    assert min_p_value(4, 4) == pytest.approx(2 / 70)
    assert min_p_value(5, 5) == pytest.approx(0.0079, rel=0.01)
    assert min_p_value(6, 6) == pytest.approx(0.00216, rel=0.01)
    assert min_p_value(7, 7) == pytest.approx(0.00058, rel=0.01)
    assert min_p_value(0, 5) == 1.0


@pytest.mark.parametrize(
    "n1,n2,ties",
    [
        (3, 3, False),
        (5, 7, False),
        (8, 8, False),
        (8, 300, False),
        (9, 10, False),
        (40, 30, False),
        (10, 10, True),
        (4, 6, True),
    ],
)
def test_mann_whitney_matches_scipy(n1: int, n2: int, ties: bool) -> None:
    from scipy.stats import mannwhitneyu

    rng = np.random.default_rng(n1 * 100 + n2)
    for _ in range(20):
        a, b = rng.normal(0, 1, n1), rng.normal(rng.uniform(-1.5, 1.5), 1, n2)
        if ties:
            a, b = np.round(a, 1), np.round(b, 1)
        expected = mannwhitneyu(a, b, alternative="two-sided").pvalue
        assert mann_whitney_p(a, b) == pytest.approx(expected, rel=1e-9, abs=1e-15)


def test_mann_whitney_all_tied_is_no_evidence() -> None:
    assert mann_whitney_p(np.ones(6), np.ones(9)) == 1.0


@pytest.mark.parametrize("n", [1, 2, 7, 10])
def test_exact_bootstrap_median_matches_brute_force(n: int) -> None:
    rng = np.random.default_rng(n)
    x = np.sort(rng.lognormal(0, 0.3, n))
    exact = bootstrap_medians(x, 200_000)
    brute = np.median(x[rng.integers(0, n, (200_000, n))], axis=1)
    for q in (0.01, 0.1, 0.5, 0.9, 0.99):
        assert np.quantile(exact, q) == pytest.approx(np.quantile(brute, q), rel=1e-3)
    assert exact.mean() == pytest.approx(brute.mean(), rel=2e-3)


def test_ratio_ci_covers_the_true_ratio_and_is_reproducible() -> None:
    rng = np.random.default_rng(7)
    base, new = rng.normal(1.0, 0.02, 20), rng.normal(1.1, 0.022, 20)
    lo, hi = ratio_ci(base, new, 0.99, 5000)
    assert lo < 1.1 < hi and hi - lo < 0.06
    assert ratio_ci(base, new, 0.99, 5000) == (lo, hi)


def test_robust_cv_ignores_one_outlier() -> None:
    values = np.array([1.0, 1.01, 0.99, 1.0, 1.02, 0.98, 1.0, 50.0])
    assert robust_cv(values) < 0.02
    assert robust_cv(np.array([1.0])) is None


def test_gate_validation_quotes_the_value() -> None:
    with pytest.raises(UserError, match="alpha = 1.5"):
        Gate(alpha=1.5)
    with pytest.raises(UserError, match="max_cv"):
        Gate(max_cv=0)


def _trials(n: int, slowdown: float, cv: float, trials: int, seed: int) -> Counter:
    rng = np.random.default_rng(seed)
    gate = Gate()
    verdicts = Counter()
    for _ in range(trials):
        base = np.exp(cv * rng.standard_normal(n))
        new = slowdown * np.exp(cv * rng.standard_normal(n))
        verdicts[compare_samples(base, new, gate=gate).verdict] += 1
    return verdicts


def test_identical_distributions_are_unchanged_in_99_percent_of_1000_trials() -> None:
    verdicts = _trials(10, 1.0, 0.02, 1000, seed=1)
    assert verdicts["unchanged"] >= 990, verdicts


def test_ten_percent_slowdown_cv2_ten_samples_is_regressed_in_95_percent() -> None:
    verdicts = _trials(10, 1.10, 0.02, 1000, seed=2)
    assert verdicts["regressed"] >= 950, verdicts


def test_three_samples_a_side_is_inconclusive_even_for_a_big_change() -> None:
    verdicts = _trials(3, 1.5, 0.02, 200, seed=3)
    assert verdicts == Counter({"inconclusive": 200})
    outcome = compare_samples([1.0, 1.01, 0.99], [2.0, 2.01, 1.99], gate=Gate())
    assert "smallest possible p 0.1" in outcome.reason


def test_significant_but_small_change_is_unchanged() -> None:
    rng = np.random.default_rng(4)
    outcome = compare_samples(rng.normal(1.0, 0.002, 50), rng.normal(1.02, 0.002, 50), gate=Gate())
    assert outcome.p_value < 1e-6 and outcome.verdict == "unchanged"
    assert "within ±5 %" in outcome.reason


def test_noisy_arm_is_inconclusive_never_unchanged() -> None:
    rng = np.random.default_rng(5)
    outcome = compare_samples(rng.normal(1.0, 0.01, 30), rng.lognormal(0, 0.3, 30), gate=Gate())
    assert outcome.verdict == "inconclusive" and "new too noisy" in outcome.reason


def test_large_but_not_significant_change_is_inconclusive() -> None:
    # 5 vs 5 can reach p < 0.01 only with no overlap; one overlapping sample keeps p above it.
    outcome = compare_samples(
        [1.0, 1.01, 0.99, 1.0, 1.16], [1.15, 1.16, 1.14, 1.15, 1.0], gate=Gate(max_cv=1)
    )
    assert outcome.p_value > 0.01 and outcome.verdict == "inconclusive"


def test_direction_higher_is_better_flips_the_verdict() -> None:
    rng = np.random.default_rng(6)
    base, new = rng.normal(100, 1, 20), rng.normal(80, 1, 20)
    assert compare_samples(base, new, gate=Gate(), direction=HIGHER).verdict == "regressed"
    assert compare_samples(base, new, gate=Gate()).verdict == "improved"


def test_inverted_comparison_is_the_throughput_view() -> None:
    rng = np.random.default_rng(8)
    outcome = compare_samples(rng.normal(1.0, 0.01, 20), rng.normal(1.25, 0.01, 20), gate=Gate())
    view = inverted(outcome)
    assert view.ratio == pytest.approx(1 / outcome.ratio)
    assert view.ci == pytest.approx((1 / outcome.ci[1], 1 / outcome.ci[0]))
    assert view.verdict == outcome.verdict == "regressed" and view.p_value == outcome.p_value


def test_threshold_is_symmetric_in_the_slowdown_factor() -> None:
    # +5.2 % time is -4.9 % throughput: both must be judged beyond a 5 % threshold.
    rng = np.random.default_rng(9)
    base = rng.normal(1.0, 0.001, 30)
    new = base * 1.052
    assert compare_samples(base, new, gate=Gate()).verdict == "regressed"
    assert compare_samples(1 / base, 1 / new, gate=Gate(), direction=HIGHER).verdict == "regressed"


def test_empty_side_is_inconclusive() -> None:
    assert compare_samples([], [1.0, 2.0], gate=Gate()).verdict == "inconclusive"


# Issue 19 defect 1: ``2 / C(n1+n2, n1)`` in floats overflowed from 515 samples a side.


@pytest.mark.parametrize("n", [515, 600, 5000])
def test_many_samples_a_side_give_a_verdict_not_an_overflow(n: int) -> None:
    rng = np.random.default_rng(n)
    same = compare_samples(rng.normal(1.0, 0.01, n), rng.normal(1.0, 0.01, n), gate=Gate())
    slower = compare_samples(rng.normal(1.0, 0.01, n), rng.normal(1.1, 0.01, n), gate=Gate())
    assert same.verdict == "unchanged" and same.min_p < 1e-300
    assert slower.verdict == "regressed" and slower.p_value < 1e-100


def test_min_p_value_is_exact_where_representable_and_zero_below() -> None:
    # C(1030, 515) > 1.8e308 is where 2.0 / C raised OverflowError; 2 / C is still a subnormal
    assert min_p_value(515, 515) == 2 / math.comb(1030, 515) == pytest.approx(6.99e-309, rel=1e-3)
    assert min_p_value(540, 540) > 0.0 and min_p_value(541, 541) == 0.0
    assert min_p_value(600, 600) == 0.0 and min_p_value(100_000, 100_000) == 0.0
    assert min_p_value(1, 100_000) == pytest.approx(2 / 100_001)


def _scipy_p(a: np.ndarray, b: np.ndarray, method: str) -> float:
    from scipy.stats import mannwhitneyu

    return float(
        mannwhitneyu(a, b, alternative="two-sided", method=method, use_continuity=True).pvalue
    )


def test_mann_whitney_matches_scipy_on_400_random_cases_n_2_to_600() -> None:
    """Exact where :func:`mann_whitney_p` is exact (smaller arm <= 8, no ties) against scipy's
    ``method="exact"``, the tie-corrected normal approximation elsewhere against
    ``method="asymptotic"``; also against scipy's default choice."""
    rng = np.random.default_rng(19)
    methods = Counter()
    for case in range(400):
        n1 = int(rng.integers(2, 601)) if case % 2 else int(rng.integers(2, 13))
        n2 = int(rng.integers(2, 601))
        if case % 3 == 0:
            n1, n2 = n2, n1
        a = rng.lognormal(0.0, 0.05, n1)
        b = rng.lognormal(rng.uniform(-0.05, 0.05), 0.05, n2)
        if case % 4 == 0:  # ties: timings on a coarse clock
            a, b = np.round(a, 2), np.round(b, 2)
        ties = np.unique(np.concatenate([a, b])).size < n1 + n2
        method = "exact" if min(n1, n2) <= 8 and not ties else "asymptotic"
        methods[method, ties] += 1
        ours = mann_whitney_p(a, b)
        assert ours == pytest.approx(_scipy_p(a, b, method), rel=1e-9, abs=1e-300), (n1, n2)
        assert ours == pytest.approx(_scipy_p(a, b, "auto"), rel=1e-9, abs=1e-300), (n1, n2)
    assert min(methods.values()) >= 30, methods  # every path is exercised


def test_mann_whitney_exact_tail_is_accurate_for_a_long_arm() -> None:
    """8 vs 5,000 untied, arms apart: the exact tail is ``2 / C(5008, 8)``, no cancellation."""
    rng = np.random.default_rng(3)
    base, new = rng.uniform(0, 1, 8), rng.uniform(2, 3, 5000)
    assert mann_whitney_p(base, new) == pytest.approx(2 / math.comb(5008, 8), rel=1e-12, abs=0)
    assert mann_whitney_p(new, base) == pytest.approx(2 / math.comb(5008, 8), rel=1e-12, abs=0)
    # Overlapping arms: the 8 values sit among the lowest of the 5,000, so the tail is short
    # enough for scipy's O(tail^2) exact recursion to check.
    for seed in range(5):
        rng = np.random.default_rng(seed)
        new = rng.uniform(0, 1, 5000)
        base = np.sort(new)[rng.integers(0, 60, 8)] + 1e-7 * rng.uniform(0.1, 0.9, 8)
        assert np.unique(np.concatenate([base, new])).size == 5008
        expected = _scipy_p(base, new, "exact")
        assert 0 < expected < 1e-10
        assert mann_whitney_p(base, new) == pytest.approx(expected, rel=1e-9, abs=0)


def test_mann_whitney_large_arms_are_fast_and_finite() -> None:
    rng = np.random.default_rng(5)
    base, new = rng.normal(1.0, 0.01, 100_000), rng.normal(1.001, 0.01, 100_000)
    p = mann_whitney_p(base, new)
    assert 0.0 <= p < 1e-3
    assert mann_whitney_p(base, base.copy()) == 1.0
