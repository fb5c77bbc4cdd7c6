"""Pure telemetry summaries on hand-made sample rows."""

from __future__ import annotations

import pytest

from exabench.bench.telemetry.sampler import COLUMNS
from exabench.bench.telemetry.summary import integrate, summarize_rows, timeline


def row(t, power=500.0, sm=1980, reasons=0):
    return (t, power, sm, 2619, 60, 100, 80, reasons)


def test_integrate_trapezoid_with_held_edges() -> None:
    rows = [row(1.0, 100.0), row(2.0, 300.0)]
    # [0,1] held at 100 -> 100 J; [1,2] trapezoid -> 200 J; [2,3] held at 300 -> 300 J.
    assert integrate(rows, 0.0, 3.0) == pytest.approx(600.0)


def test_integrate_without_power_or_with_a_sample_before_only() -> None:
    assert integrate([], 0.0, 1.0) is None
    assert integrate([row(-0.05, 250.0)], 0.0, 2.0) == pytest.approx(500.0)


def test_summary_of_no_rows_is_all_none() -> None:
    s = summarize_rows([])
    assert s["samples"] == 0 and s["power_mean_w"] is None and s["throttled"] is False


def test_summary_means_maxima_and_reasons() -> None:
    s = summarize_rows([row(0.0, 400.0, 1980), row(0.1, 600.0, 1600, 0x4)])
    assert s["power_mean_w"] == 500.0 and s["power_max_w"] == 600.0
    assert s["sm_clock_min_mhz"] == 1600 and s["sm_clock_mean_mhz"] == 1790
    assert s["throttled"] and s["throttled_samples"] == 1


def test_timeline_merges_neighbours_without_losing_events() -> None:
    rows = [row(i * 0.1, 100.0 * i, 1980 - i, 0x4 if i == 5 else 0) for i in range(8)]
    tl = timeline(rows, COLUMNS, max_rows=4, gpu=0)
    assert len(tl) == 4
    assert [r["power_w"] for r in tl] == [50.0, 250.0, 450.0, 650.0]
    assert [r["sm_clock_mhz"] for r in tl] == [1979, 1977, 1975, 1973]
    assert [r["throttled"] for r in tl] == [False, False, True, False]
    assert tl[0]["gpu"] == 0 and set(COLUMNS) <= set(tl[0])


def test_timeline_keeps_every_row_under_the_cap() -> None:
    rows = [row(0.123456, 1.0)]
    assert timeline(rows, COLUMNS, 10)[0]["t_s"] == 0.1235
