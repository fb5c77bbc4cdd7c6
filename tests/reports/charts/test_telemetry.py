"""The telemetry timeline: binned, pooled beyond a few series, absent without samples."""

from __future__ import annotations

import pandas as pd

from exabench.reports.charts import telemetry as ct


def _frame(n_runs, n):
    return pd.DataFrame([
        {
            "run": f"r{r}",
            "gpu": "0",
            "t_s": i * 0.1,
            "power_w": 600.0 + r,
            "sm_clock_mhz": 1800.0 - i % 7,
            "throttled": i % 50 == 0,
        }
        for r in range(n_runs)
        for i in range(n)
    ])


def test_binned_caps_points_and_keeps_dips():
    out = ct.binned(_frame(1, 5000))
    assert len(out) <= ct.BINS + 1 and out["sm_clock_mhz"].min() == 1794 and out["throttled"].any()


def test_many_series_are_pooled():
    out = ct.binned(_frame(12, 20))
    assert out["series"].unique().tolist() == ["median of 12 series"]
    assert ct.binned(_frame(2, 20))["series"].nunique() == 2


def test_no_samples_no_chart():
    assert ct.timeline(pd.DataFrame()) is None
    empty = _frame(1, 3).assign(power_w=None, sm_clock_mhz=None)
    assert ct.timeline(empty) is None
    assert "throttled in" in ct.timeline(_frame(1, 100)).caption
