"""Plan and comparison charts: drawn only with enough data; bands and rankings when present."""

from __future__ import annotations

import json

from exabench.reports.charts import plan as charts_plan
from exabench.reports.inputs.documents import Document
from exabench.reports.tidy import plans as tp
from exabench.testing import samples


def _docs(*gpus, **kw):
    return [Document("plan", f"p{g}", samples.sample_plan(gpus=g, **kw)) for g in gpus]


def test_scaling_needs_two_sizes():
    assert charts_plan.scaling(tp.plans_frame(_docs(1024))) is None
    fig = charts_plan.scaling(tp.plans_frame(_docs(8, 100_000)))
    assert "8 to 100,000 GPUs" in fig.caption and len(fig.spec["hconcat"]) == 3


def test_time_and_cost_bands_only_with_uncertainty():
    docs = _docs(8, 1024)
    with_bands = charts_plan.time_and_cost(tp.plans_frame(docs), tp.uncertainty_frame(docs))
    assert "P10–P90" in with_bands.caption
    plain = _docs(8, 1024, uncertainty=False)
    assert (
        "P10" not in charts_plan.time_and_cost(
            tp.plans_frame(plain), tp.uncertainty_frame(plain)
        ).caption
    )


def test_sensitivity_ranked_by_swing():
    fig = charts_plan.sensitivity(tp.sensitivity_frame(_docs(8)))
    sort = fig.spec["encoding"]["y"]["sort"]
    assert sort[0].startswith("mfu_curve") and sort[-1].startswith("pue")


def test_comparison_keeps_flagged_rows_when_capped():
    doc = samples.sample_comparison(120, seed=3)
    fig = charts_plan.comparison(tp.comparison_frame([Document("comparison", "c", doc)]))
    shown = {
        row["label"] for data in fig.spec["datasets"].values() for row in data if "label" in row
    }
    flagged = {
        f"{r['name']} [tflops] m={r['params']['m']}"
        for r in doc["results"]
        if r["verdict"] != "unchanged"
    }
    assert flagged <= shown and len(shown) == charts_plan.MAX_BARS and "of 120 shown" in fig.caption
    assert json.dumps(fig.spec).count('"x": 1.0') == 1  # the reference line at ratio 1
