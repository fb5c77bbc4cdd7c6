"""E-divisive change points: the sums behind Q̂, then the issue's targets."""

from __future__ import annotations

import numpy as np
import pytest

from exabench.analysis.regression import changepoint
from exabench.analysis.regression.changepoint import e_divisive, q_profile


def _q_direct(z: np.ndarray, tau: int) -> float:
    """Q̂(τ) straight from its definition (Matteson & James, V-statistic form)."""
    x, y = z[:tau], z[tau:]
    between = np.abs(x[:, None] - y[None, :]).mean()
    within_x = np.abs(x[:, None] - x[None, :]).mean()
    within_y = np.abs(y[:, None] - y[None, :]).mean()
    n, m = len(x), len(y)
    return n * m / (n + m) * (2 * between - within_x - within_y)


@pytest.mark.parametrize("m", [12, 200])  # the matrix path and the Fenwick path
def test_q_profile_matches_the_definition(m: int) -> None:
    z = np.random.default_rng(m).normal(size=m)
    z[3] = z[7]  # a tie
    q = q_profile(z[None, :], 2)[0]
    for tau in (2, m // 2, m - 2):
        assert q[tau - 2] == pytest.approx(_q_direct(z, tau), rel=1e-9)


def test_fenwick_and_matrix_sums_agree() -> None:
    batch = np.random.default_rng(0).normal(size=(4, 150))
    batch[:, 10] = batch[:, 20]
    assert np.allclose(
        changepoint._to_earlier_fenwick(batch), changepoint._to_earlier_matrix(batch)
    )
    direct = np.abs(batch[:, :, None] - batch[:, None, :]).sum(axis=2)
    assert np.allclose(changepoint._to_all(batch), direct)


def test_step_of_5_percent_at_run_40_is_one_change_point_within_2_runs() -> None:
    rng = np.random.default_rng(40)
    hits = 0
    for trial in range(100):
        series = 1.0 + 0.01 * rng.standard_normal(60)
        series[40:] *= 1.05
        found = e_divisive(series, seed=trial)
        hits += len(found) == 1 and abs(found[0].index - 40) <= 2
    assert hits >= 95, hits


def test_change_point_fields() -> None:
    rng = np.random.default_rng(1)
    series = 1.0 + 0.01 * rng.standard_normal(60)
    series[40:] *= 1.05
    (point,) = e_divisive(series)
    assert point.index == 40
    assert point.before == pytest.approx(1.0, abs=0.01) and point.after == pytest.approx(
        1.05, abs=0.01
    )
    assert point.magnitude == pytest.approx(point.after / point.before - 1)
    assert point.p_value == pytest.approx(1 / 200)  # no permutation reached it: (1 + 0) / (1 + 199)


def test_pure_noise_has_no_change_point_in_95_percent_of_1000_trials() -> None:
    rng = np.random.default_rng(60)
    quiet = sum(not e_divisive(1.0 + 0.01 * rng.standard_normal(60), seed=t) for t in range(1000))
    assert quiet >= 950, quiet


def test_two_steps_in_a_long_series_are_both_found() -> None:
    rng = np.random.default_rng(2)
    series = 1.0 + 0.01 * rng.standard_normal(400)
    series[150:] *= 1.04
    series[300:] *= 0.95
    found = [p.index for p in e_divisive(series)]
    assert len(found) == 2 and abs(found[0] - 150) <= 2 and abs(found[1] - 300) <= 2


def test_one_outlier_is_not_a_change_and_short_series_are_quiet() -> None:
    series = np.ones(30) + 0.001 * np.random.default_rng(3).standard_normal(30)
    series[15] = 2.0
    assert e_divisive(series) == []
    assert e_divisive([1.0, 2.0]) == [] and e_divisive([1.0]) == []


def test_same_seed_same_answer() -> None:
    series = 1.0 + 0.01 * np.random.default_rng(4).standard_normal(80)
    series[50:] += 0.02
    assert e_divisive(series, seed=3) == e_divisive(series, seed=3)
