"""Number formatting: units, three significant figures, dashes for the absent."""

from __future__ import annotations

import math

import pytest

from exabench.reports import fmt


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0"),
        (1234.5, "1,230"),
        (0.012345, "0.0123"),
        (989.4, "989"),
        (12.34, "12.3"),
        (-2.5, "-2.50"),
        (None, "–"),
        (math.nan, "–"),
        ("x", "–"),
        (True, "–"),
        (3e16, "3.00e+16"),
    ],
)
def test_sig(value, text):
    assert fmt.sig(value) == text


def test_units():
    assert fmt.num(3350, "GB/s") == "3,350 GB/s"
    assert fmt.num(None, "GB/s") == "–"
    assert fmt.pct(0.4321) == "43.2 %"
    assert fmt.usd(1.234e9) == "$1.23 B" and fmt.usd(512.0) == "$512"
    assert fmt.count(100_000) == "100,000" and fmt.count(1.5e13) == "15.0 T"
    assert fmt.nbytes(2**30) == "1.00 GiB" and fmt.nbytes(512) == "512 B"


@pytest.mark.parametrize(("seconds", "text"), [
    (8.1e-4, "810 µs"), (0.25, "250 ms"), (7.2, "7.20 s"), (600, "10.0 min"), (3 * 3600, "3.00 h"),
    (51.2 * 86400, "51.2 days"),
])
def test_duration(seconds, text):
    assert fmt.duration(seconds) == text
