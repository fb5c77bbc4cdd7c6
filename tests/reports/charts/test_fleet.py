"""The fleet chart: one row per figure, every GPU a dot relative to its median, slow outliers
red with rank and host; thousands of GPUs pooled below the chart's row limit; registered."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from exabench.reports.charts import fleet as cf
from exabench.reports.charts.registry import build_figures
from exabench.reports.charts.style import MAX_POINTS
from exabench.reports.inputs.documents import FleetDocument, Inputs
from exabench.reports.tidy import fleet as tf
from exabench.testing.samples_fleet import sample_fleet


@pytest.fixture(scope="module")
def fleet():
    sample = sample_fleet()
    return FleetDocument("fleet", "f/fleet.json", sample["fleet"], gpus=sample["gpus"])


def _rows(spec):
    return {name: rows for name, rows in spec["datasets"].items()}


def test_one_row_per_figure_and_a_dot_per_gpu(fleet):
    fig = cf.relative(tf.gpu_frame([fleet]), tf.summary_frame([fleet]))
    datasets = list(_rows(fig.spec).values())
    dots = next(rows for rows in datasets if rows and "status" in rows[0])
    ranges = next(rows for rows in datasets if rows and "lo_pct" in rows[0])
    assert len(dots) == 192 and len(ranges) == 3
    slow = sorted((d["rank"], d["host"]) for d in dots if d["status"] == "slow outlier")
    assert slow == [(13, "node-001"), (42, "node-005"), (42, "node-005")]
    assert all(-0.5 <= d["jitter"] <= 0.5 for d in dots)
    text = json.dumps(fig.spec)
    assert '"title": "rank"' in text and '"title": "host"' in text and "#e45756" in text
    assert (
        "(%)" in text
        and "red: 3 values of 2 GPUs flagged slow" in fig.caption
        and "64 GPUs" in fig.caption
    )


def test_thousands_of_gpus_are_pooled_but_outliers_stay_single():
    rng = np.random.default_rng(1)
    n, figures = 4000, ("a/x[]:tflops", "b/y[]:gbps", "c/z[]:rank_busbw_gbps")
    gpus = pd.DataFrame([
        {
            "fleet": "fleet_t",
            "figure": f,
            "label": f,
            "unit": "u",
            "rank": r,
            "host": f"h{r // 8}",
            "value": v,
            "rel_pct": v - 100,
            "z": 0.0,
            "status": "within the fleet",
        }
        for f in figures
        for r, v in enumerate(100 + rng.standard_normal(n))
    ])
    gpus.loc[7, ["rel_pct", "status"]] = [-20.0, "slow outlier"]
    summary = pd.DataFrame([
        {
            "fleet": "fleet_t",
            "figure": f,
            "label": f,
            "unit": "u",
            "n": n,
            "median": 100.0,
            "min": 80.0,
            "max": 104.0,
            "spread_pct": 24.0,
            "slow": 1,
            "fast": 0,
        }
        for f in figures
    ])
    fig = cf.relative(gpus, summary)
    dots = next(rows for rows in _rows(fig.spec).values() if rows and "status" in rows[0])
    assert len(dots) <= MAX_POINTS and sum(d["gpus"] for d in dots) == 3 * n
    [outlier] = [d for d in dots if d["status"] == "slow outlier"]
    assert (outlier["ranks"], outlier["hosts"], outlier["gpus"]) == ("7", "h0", 1)
    assert "GPUs per dot" in json.dumps(fig.spec) and "pool" in fig.caption


def test_registered_after_the_runs_and_drawn_without_per_gpu_values(fleet):
    figures = build_figures(Inputs(fleets=[fleet]))
    assert [f.id for f in figures] == ["fleet-relative"]
    bare = FleetDocument("fleet", "f/fleet.json", fleet.doc)
    [fig] = build_figures(Inputs(fleets=[bare]))
    dots = next(rows for rows in _rows(fig.spec).values() if rows and "status" in rows[0])
    assert len(dots) == 3  # the summary's outliers only, beside each figure's range
    assert build_figures(Inputs()) == []


def test_a_figure_with_a_zero_median_draws_no_range(fleet):
    summary = tf.summary_frame([fleet]).assign(median=0.0)
    fig = cf.relative(tf.gpu_frame([fleet]).iloc[:0], summary)
    ranges = next(rows for rows in _rows(fig.spec).values() if rows and "lo_pct" in rows[0])
    assert [(r["lo_pct"], r["hi_pct"]) for r in ranges] == [(0.0, 0.0)] * 3
    json.dumps(fig.spec, allow_nan=False)  # the page embeds specs with allow_nan=False
