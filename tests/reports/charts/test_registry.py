"""Which charts a report draws: every family when its data is there, none when it is not, and
large inputs aggregated below Vega-Lite's limits."""

from __future__ import annotations

import json

import pandas as pd

from exabench.reports.charts.registry import build_figures
from exabench.reports.charts.style import MAX_POINTS, aggregate, thin
from exabench.reports.inputs.documents import Document, Inputs
from exabench.testing import samples

ALL = ["comparison", "scaling", "time-and-cost", "step-breakdown", "uncertainty", "sensitivity",
       "gemm-throughput", "roofline", "memory-bandwidth", "collectives-busbw", "telemetry-timeline"]


def full_inputs() -> Inputs:
    return Inputs(
        runs=[Document("run", "r", samples.sample_run())],
        plans=[Document("plan", f"p{g}", samples.sample_plan(gpus=g)) for g in (8, 1024, 100_000)],
        comparisons=[Document("comparison", "c", samples.sample_comparison())],
    )


def rows(spec: dict) -> int:
    return sum(len(v) for v in spec.get("datasets", {}).values())


def test_every_chart_family_with_title_units_and_caption():
    figures = build_figures(full_inputs())
    assert [f.id for f in figures] == ALL
    for fig in figures:
        assert fig.title and fig.spec["title"] == fig.title
        assert 40 < len(fig.caption) < 300 and "\n" not in fig.caption
        text = json.dumps(fig.spec)
        assert '"$schema"' in text and "url" not in fig.spec.get("data", {})  # data inline
        assert "(" in text  # every chart names a unit on an axis: "(TFLOP/s)", "(GB/s)", "(s)" ...


def test_absent_data_draws_nothing_without_error():
    only_gemm = Inputs(
        runs=[Document("run", "r", samples.sample_run(suites=("gemm",), timeline_points=0))],
        plans=[Document("plan", "p", samples.sample_plan(gpus=8, uncertainty=False))],
    )
    assert [f.id for f in build_figures(only_gemm)] == [
        "step-breakdown",
        "gemm-throughput",
        "roofline",
    ]
    bare_plan = {"schema": "exabench.plan/1", "inputs": {}, "step_time_s": 1.0}
    assert build_figures(Inputs(plans=[Document("plan", "p", bare_plan)])) == []
    assert build_figures(Inputs()) == []


def test_fifty_runs_and_ten_thousand_points_are_aggregated():
    sizes = tuple(int(2 ** (7 + i * 0.25)) for i in range(24))
    runs = [
        Document(
            "run",
            f"r{i}",
            samples.sample_run(
                seed=i, run_id=f"run-{i:02d}", gemm_sizes=sizes, timeline_points=200
            ),
        )
        for i in range(50)
    ]
    figures = build_figures(Inputs(runs=runs))
    assert len(figures) == 5
    assert all(rows(f.spec) <= MAX_POINTS for f in figures)
    timeline = next(f for f in figures if f.id == "telemetry-timeline")
    assert "median of 50 series" in json.dumps(timeline.spec)


def test_aggregate_uses_range_across_runs_and_quartiles_within_one():
    frame = pd.DataFrame({"run": ["a", "b", "a"], "k": [1, 1, 2], "v": [10.0, 20.0, 5.0],
                          "lo": [9.0, 19.0, 4.0], "hi": [11.0, 21.0, 6.0]})
    out = aggregate(frame, ["k"], "v", "lo", "hi").set_index("k")
    assert out.loc[1, ["v", "lo", "hi", "n_runs"]].tolist() == [15.0, 10.0, 20.0, 2]
    assert out.loc[2, ["v", "lo", "hi", "n_runs"]].tolist() == [5.0, 4.0, 6.0, 1]
    assert len(thin(pd.DataFrame({"x": range(10_000)}), 1000)) == 1000


def test_comparison_axis_names_the_confidence_level_of_compare():
    doc = samples.sample_comparison()
    doc["alpha"] = 0.01  # compare's default: a 99 % interval
    [fig] = build_figures(Inputs(comparisons=[Document("comparison", "c", doc)]))
    assert "99 % CI" in json.dumps(fig.spec)
    del doc["alpha"]
    [fig] = build_figures(Inputs(comparisons=[Document("comparison", "c", doc)]))
    assert "99 % CI" not in json.dumps(fig.spec) and "(CI)" in json.dumps(fig.spec)
