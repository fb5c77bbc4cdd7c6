"""Regression statistics for two sets of timing samples: effect, confidence, verdict.

One comparison takes the raw samples of a benchmark in a base Run and a new Run and says
``regressed``, ``improved``, ``unchanged`` or ``inconclusive`` (docs/regression.md). The rules
follow asv's two gates (airspeed-velocity/asv@7032df7 ``asv/_stats.py`` and
``asv/commands/compare.py``):

- **Effect**: the ratio of medians ``median(new) / median(base)`` with a percentile bootstrap
  confidence interval at level ``1 - alpha``, each arm resampled on its own (Kalibera & Jones,
  ISMM 2013; Bulej et al., arXiv 2007.10899). The bootstrap is exact and vectorised: the median
  of a resample of sorted ``x`` is ``x[ceil(n·U_(k))]`` with ``U_(k) ~ Beta(k, n-k+1)`` the k-th
  uniform order statistic, and for even n the next one is ``U_(k+1) = U_(k) + (1-U_(k))·B``,
  ``B ~ Beta(1, n-k)`` (David & Nagaraja, *Order Statistics*, §2.2), so a draw costs O(1), not O(n).
- **Significance**: a two-sided Mann-Whitney U test (scipy), the choice of asv, benchstat and
  Google Benchmark for skewed, heavy-tailed timings.
- **Two gates** (asv ``--factor`` plus its U test): ``regressed``/``improved`` only when
  ``p < alpha`` **and** the slowdown factor passes the practical threshold. The factor is the
  ratio for lower-is-better metrics and its inverse for higher-is-better ones, and the threshold
  is symmetric in it (``> 1+t`` worse, ``< 1/(1+t)`` better), so time and TFLOP/s always agree.
- **Inconclusive, never unchanged**, when the samples cannot reach significance (the smallest
  two-sided U-test p-value, ``2 / C(n1+n2, n1)``, exceeds alpha: 3 vs 3 gives 0.1), when either
  arm is unstable (robust cv ``1.4826·MAD/median`` above ``max_cv``; pyperf warns at 10 %), or
  when the median moved past the threshold but not significantly (asv's ``~`` mark: the run
  cannot tell a real change from noise). A significant change inside the threshold is
  ``unchanged`` (Criterion's "change within noise threshold").
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from exabench.errors import UserError, one_of

VERDICTS = ("regressed", "improved", "unchanged", "inconclusive")
LOWER, HIGHER = "lower", "higher"
MAD_TO_SD = 1.4826  # MAD of a normal distribution times this is its standard deviation
BOOTSTRAP_SEED = 20240601  # fixed: the same Runs always give the same confidence intervals


@dataclass(kw_only=True, frozen=True)
class Gate:
    """How strict a comparison is."""

    alpha: float = 0.01
    """Significance level of the U test; the confidence level of the ratio CI is 1 - alpha."""
    threshold: float = 0.05
    """Practical threshold as a fraction: a change smaller than this factor is never flagged."""
    max_cv: float = 0.10
    """Stability gate: robust cv (1.4826·MAD/median) above which an arm is too noisy to judge."""
    resamples: int = 5000
    """Bootstrap draws for the ratio CI."""

    def __post_init__(self) -> None:
        if not 0 < self.alpha < 1:
            raise UserError(one_of(self.alpha, "a number in (0, 1), e.g. 0.01", name="alpha"))
        if not 0 <= self.threshold < 10:
            raise UserError(
                one_of(self.threshold, "a fraction from 0 to 10 (0 to 1000 %)", name="threshold")
            )
        if not self.max_cv > 0:
            raise UserError(one_of(self.max_cv, "a positive fraction, e.g. 0.1", name="max_cv"))
        assert self.resamples >= 100, self.resamples


@dataclass(kw_only=True, frozen=True)
class Comparison:
    """The outcome of one base/new comparison of a lower-is-better sample set."""

    ratio: float | None
    """median(new) / median(base)."""
    ci: tuple[float, float] | None
    p_value: float | None
    verdict: str
    reason: str
    n_base: int
    n_new: int
    cv_base: float | None
    cv_new: float | None
    min_p: float
    """Smallest two-sided U-test p-value these sample counts can produce."""


def min_p_value(n1: int, n2: int) -> float:
    """``2 / C(n1+n2, n1)``: the exact two-sided U test's p when the arms do not overlap at all.

    Correctly rounded (Python's int true division, which never converts C to a float: ``2.0 /
    C`` raised OverflowError from 515 samples a side, where C passes 1.8e308) and 0.0 once it is
    below the smallest subnormal, 5e-324 (541 a side). ``log C`` from ``lgamma`` comes first, so
    C is never built for large arms (C(200000, 100000) has 60,000 digits and takes 0.4 s).
    """
    if n1 < 1 or n2 < 1:
        return 1.0
    log_c = math.lgamma(n1 + n2 + 1) - math.lgamma(n1 + 1) - math.lgamma(n2 + 1)
    if log_c > 760.0:  # 2 / C < 1e-330: below every float, zero after rounding anyway
        return 0.0
    return min(1.0, 2 / math.comb(n1 + n2, n1))


def robust_cv(values: np.ndarray) -> float | None:
    """``1.4826 · median(|x - median(x)|) / median(x)``: a cv one outlier cannot inflate."""
    if values.size < 2:
        return None
    median = float(np.median(values))
    if median == 0:
        return None
    return MAD_TO_SD * float(np.median(np.abs(values - median))) / abs(median)


@lru_cache(maxsize=256)
def _median_picks(n: int, draws: int, stream: int) -> tuple[np.ndarray, np.ndarray]:
    """0-based order-statistic indices (lower, upper) of the median of ``draws`` bootstrap
    resamples of n values; they depend on n alone, so they are drawn once per n and arm.

    A resample is ``x[ceil(n·U_i)]`` for iid uniforms U_i, a non-decreasing map, so its k-th order
    statistic is ``x[ceil(n·U_(k))]``; the module docstring gives U_(k) and U_(k+1).
    """
    rng = np.random.default_rng([BOOTSTRAP_SEED, n, stream])

    def index(u: np.ndarray) -> np.ndarray:
        return np.clip(np.ceil(n * u).astype(np.int64), 1, n) - 1

    if n % 2:
        k = (n + 1) // 2
        middle = index(rng.beta(k, n - k + 1, draws))
        return middle, middle
    k = n // 2
    lower = rng.beta(k, n - k + 1, draws)
    upper = lower + (1.0 - lower) * rng.beta(1, n - k, draws)
    return index(lower), index(upper)


def bootstrap_medians(sorted_values: np.ndarray, draws: int, stream: int = 0) -> np.ndarray:
    """``draws`` medians of bootstrap resamples of ``sorted_values`` (exact, O(draws))."""
    n = sorted_values.size
    assert n >= 1
    if n == 1:
        return np.full(draws, float(sorted_values[0]))
    lower, upper = _median_picks(n, draws, stream)
    return 0.5 * (sorted_values[lower] + sorted_values[upper])


def ratio_ci(base: np.ndarray, new: np.ndarray, level: float, draws: int) -> tuple[float, float]:
    """Percentile bootstrap CI of ``median(new) / median(base)``, each arm resampled on its own
    (independent draws for the two arms: streams 0 and 1)."""
    ratios = bootstrap_medians(np.sort(new), draws, 1) / bootstrap_medians(np.sort(base), draws, 0)
    tail = (1.0 - level) / 2
    lo, hi = np.quantile(ratios, [tail, 1.0 - tail])
    return float(lo), float(hi)


EXACT_MAX_ARM = 8
"""The exact U distribution is used when the smaller arm has at most this many samples and
there are no ties, as ``scipy.stats.mannwhitneyu(method="auto")`` chooses."""


def mann_whitney_p(base: np.ndarray, new: np.ndarray) -> float:
    """Two-sided Mann-Whitney U p-value, as ``scipy.stats.mannwhitneyu(method="auto")`` gives it.

    With ``U = max(U1, n1·n2 - U1)``, ``U1 = R1 - n1(n1+1)/2`` and ``R1`` the sum of the base
    arm's mid-ranks:

    - **exact** when the smaller arm has at most :data:`EXACT_MAX_ARM` samples and no value is
      tied: ``p = 2·P(U' <= n1·n2 - U)`` under the null (symmetry of U), summed over the lower
      tail only from the Gaussian-binomial frequencies (:func:`_u_lower_tail`), as scipy's
      ``_MWU.sf`` does; cost O(min(n1, n2) · n1·n2 / 2) at worst, 30 ms for 8 vs 10^5;
    - otherwise the **normal approximation with tie and continuity corrections**:
      ``z = (U - n1·n2/2 - 1/2) / sigma``, ``sigma^2 = n1·n2/12 · ((n+1) - sum(t^3 - t) /
      (n(n-1)))`` with ``n = n1 + n2`` and t the size of each group of tied values, ``p = 2·(1 -
      Phi(z)) = erfc(z/sqrt 2)``. Mean and untied variance: Mann & Whitney, Ann. Math. Statist.
      18(1):50-60 (1947); the tie term and the continuity half are those of scipy/scipy@v1.17.1
      ``scipy/stats/_mannwhitneyu.py`` (``_get_mwu_z``); the tests match scipy to 1e-9.

    Everything is a float sum or an erfc of a finite z: no factorial or binomial is formed, so no
    sample count overflows (200,000 values rank in about 30 ms). Written here rather than called
    from scipy because importing ``scipy.stats`` alone takes 1.5 s, most of a CLI compare.
    """
    n1, n2 = base.size, new.size
    values = np.concatenate([base, new])
    order = np.argsort(values, kind="mergesort")
    ordered = values[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    counts = np.diff(np.r_[starts, values.size])
    ranks = np.empty(values.size)
    ranks[order] = np.repeat(starts + (counts + 1) / 2.0, counts)  # average ranks of ties, 1-based
    u1 = float(ranks[:n1].sum()) - n1 * (n1 + 1) / 2.0
    u = max(u1, n1 * n2 - u1)
    if min(n1, n2) <= EXACT_MAX_ARM and counts.max() == 1:
        lower = n1 * n2 - int(round(u))  # P(U' >= u) = P(U' <= n1·n2 - u) by symmetry
        tail = _u_lower_tail(min(n1, n2), max(n1, n2), lower)
        p = 2.0 * float(tail.sum()) / math.comb(n1 + n2, n1)
    else:
        n = n1 + n2
        tie_term = float((counts.astype(float) ** 3 - counts).sum())
        sd = math.sqrt(n1 * n2 / 12.0 * ((n + 1) - tie_term / (n * (n - 1))))
        if sd == 0:
            return 1.0  # every value tied: no evidence of a difference
        z = (u - n1 * n2 / 2.0 - 0.5) / sd
        p = math.erfc(z / math.sqrt(2.0))  # two-sided: 2 · (upper normal tail)
    return min(1.0, p)


def _u_lower_tail(m: int, n: int, upto: int) -> np.ndarray:
    """Frequencies of U = 0..upto under the null for arms of m and n: the first coefficients of
    the Gaussian binomial ``[m+n choose m]_q = prod_{i=1..m} (1 - q^(n+i)) / (1 - q^i)`` (the
    generating function of U, which Mann & Whitney 1947's recurrence counts; Andrews, *The
    Theory of Partitions*, 1976, Theorem 3.1).

    Power series truncated after q^upto: each factor is a series product, so truncation commutes
    with it. Only the lower tail is asked for (``upto <= m·n/2``): its coefficients build up from
    smaller ones (within 4e-15 of Python-int arithmetic at 8 vs 10^5), while the upper tail of the
    full polynomial comes from cancelling large terms (at 8 vs 5,000 some come out negative).
    """
    poly = np.zeros(upto + 1)
    poly[0] = 1.0
    for i in range(1, m + 1):
        if n + i <= upto:
            poly[n + i:] -= poly[: upto + 1 - (n + i)].copy()  # times (1 - q^(n+i))
        for residue in range(min(i, upto + 1)):  # divided by (1 - q^i): a running sum, stride i
            poly[residue::i] = np.cumsum(poly[residue::i])
    return poly


def slowdown(ratio: float, direction: str) -> float:
    """How many times worse ``new`` is: the ratio (lower is better) or its inverse (higher)."""
    return ratio if direction == LOWER else 1.0 / ratio


def _finite(samples: Sequence[float | None]) -> np.ndarray:
    values = np.asarray([s for s in samples if s is not None], dtype=float)
    return values[np.isfinite(values) & (values > 0)]


def _noise_reason(cv_base: float | None, cv_new: float | None, gate: Gate) -> str | None:
    """Why an arm is too noisy to judge (its robust cv above ``gate.max_cv``), or None."""
    for arm, cv in (("base", cv_base), ("new", cv_new)):
        if cv is not None and cv > gate.max_cv:
            return f"{arm} too noisy: robust cv {100 * cv:.1f} % > {100 * gate.max_cv:g} %"
    return None


def _significance_verdict(p: float, factor: float, gate: Gate) -> tuple[str, str]:
    """The verdict and its reason from the rank test's ``p`` and the slowdown ``factor``: a
    change counts when it is both significant and beyond ``gate.threshold``."""
    worse, better = 1.0 + gate.threshold, 1.0 / (1.0 + gate.threshold)
    band = f"±{100 * gate.threshold:g} %"
    if p < gate.alpha:
        if factor > worse:
            return "regressed", f"p {p:.2g} < {gate.alpha:g}, beyond {band}"
        if factor < better:
            return "improved", f"p {p:.2g} < {gate.alpha:g}, beyond {band}"
        return "unchanged", f"significant (p {p:.2g}) but within {band}"
    if factor > worse or factor < better:
        return (
            "inconclusive",
            f"a change beyond {band} that is not significant (p {p:.2g} >= {gate.alpha:g})",
        )
    return "unchanged", f"not significant (p {p:.2g}) and within {band}"


def compare_samples(base_samples: Sequence[float | None], new_samples: Sequence[float | None], *,
                    gate: Gate, direction: str = LOWER) -> Comparison:
    """Compare two sets of positive samples under ``gate``; ``direction`` says which way is
    better.

    A higher-is-better metric derived as work/time (TFLOP/s, GB/s) shares the comparison of the
    times it came from: see :func:`inverted`.
    """
    assert direction in (LOWER, HIGHER), direction
    base, new = _finite(base_samples), _finite(new_samples)
    n1, n2 = int(base.size), int(new.size)
    min_p = min_p_value(n1, n2)
    cv_base, cv_new = robust_cv(base), robust_cv(new)
    common = {"n_base": n1, "n_new": n2, "cv_base": cv_base, "cv_new": cv_new, "min_p": min_p}
    if n1 == 0 or n2 == 0:
        return Comparison(ratio=None, ci=None, p_value=None, verdict="inconclusive",
                          reason="no valid samples on one side", **common)
    ratio = float(np.median(new) / np.median(base))
    ci = ratio_ci(base, new, 1.0 - gate.alpha, gate.resamples)
    p = mann_whitney_p(base, new)
    values = {"ratio": ratio, "ci": ci, "p_value": p, **common}
    if min_p > gate.alpha:
        return Comparison(
            verdict="inconclusive",
            reason=(
                f"{n1} vs {n2} samples can't reach significance: smallest possible p {min_p:.2g} >"
                f" alpha {gate.alpha:g}"
            ),
            **values,
        )
    noise = _noise_reason(cv_base, cv_new, gate)
    if noise:
        return Comparison(verdict="inconclusive", reason=noise, **values)
    verdict, reason = _significance_verdict(p, slowdown(ratio, direction), gate)
    return Comparison(verdict=verdict, reason=reason, **values)


def inverted(comparison: Comparison) -> Comparison:
    """The same comparison seen through a metric proportional to 1/sample (work / time).

    Such metrics are computed from the median time (``bench/harness.py``), so their ratio is
    exactly the inverse, the CI inverts bound for bound, and the rank test's p is unchanged;
    the verdict stays, since "slower" and "lower throughput" are the same event.
    """
    ratio = None if comparison.ratio is None else 1.0 / comparison.ratio
    ci = None if comparison.ci is None else (1.0 / comparison.ci[1], 1.0 / comparison.ci[0])
    return replace(comparison, ratio=ratio, ci=ci)
