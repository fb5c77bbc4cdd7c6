from __future__ import annotations

import math

import pytest

from exabench.documents.stats import STAT_FIELDS, summarize


def test_quartiles_and_median_hand_computed() -> None:
    s = summarize([1.0, 2.0, 3.0, 4.0, 5.0])
    assert s["n"] == 5
    assert s["median"] == 3.0
    assert s["q1"] == 2.0 and s["q3"] == 4.0
    assert s["min"] == 1.0 and s["max"] == 5.0
    assert s["mean"] == 3.0
    # sample std of 1..5 is sqrt(2.5)
    assert s["cv"] == pytest.approx(math.sqrt(2.5) / 3.0)


def test_even_count_interpolates() -> None:
    s = summarize([4.0, 1.0, 3.0, 2.0])
    assert s["median"] == 2.5
    assert s["q1"] == pytest.approx(1.75)
    assert s["q3"] == pytest.approx(3.25)


def test_empty_and_single_sample() -> None:
    empty = summarize([])
    assert empty["n"] == 0 and all(empty[f] is None for f in STAT_FIELDS[1:])
    one = summarize([2e-3])
    assert one["n"] == 1 and one["median"] == 2e-3 and one["cv"] is None


def test_non_finite_samples_are_ignored() -> None:
    s = summarize([1.0, float("nan"), 3.0, float("inf")])
    assert s["n"] == 2 and s["median"] == 2.0
