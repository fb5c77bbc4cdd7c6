"""Plans and comparisons as tidy frames, tolerant of absent fields and of two uncertainty shapes."""

from __future__ import annotations

import pytest

from exabench.reports.inputs.documents import Document
from exabench.reports.tidy import plans as tp
from exabench.testing import samples


def _plans(*gpus, **kw):
    return [Document("plan", f"p{g}", samples.sample_plan(gpus=g, **kw)) for g in gpus]


def test_plans_frame_derives_cluster_throughput_and_cost_per_token():
    frame = tp.plans_frame(_plans(8, 1024))
    row = frame.iloc[1]
    assert row["gpus"] == 1024 and row["tokens_per_s"] == pytest.approx(
        row["tokens_per_s_per_gpu"] * 1024
    )
    assert row["usd_per_mtok"] == pytest.approx(row["usd"] / 15e12 * 1e6)
    assert (
        row["label"] == "llama3-70b · h100-sxm · 1,024 GPUs"
        and row["layout"] == "TP8 PP4 CP1 EP1 DP32"
    )


def test_minimal_plan_has_empty_cells_not_errors():
    plan = {
        "schema": "exabench.plan/1",
        "inputs": {"layout": {"tp": 2, "pp": 2, "dp": 4}},
        "step_time_s": 1.0,
    }
    docs = [Document("plan", "p", plan)]
    frame = tp.plans_frame(docs)
    assert frame.iloc[0]["gpus"] == 16 and frame.iloc[0]["mfu"] is None
    assert (
        tp.breakdown_frame(docs).empty
        and tp.uncertainty_frame(docs).empty
        and tp.sensitivity_frame(docs).empty
    )


def test_breakdown_flattens_and_drops_totals():
    plan = samples.sample_plan(gpus=8)
    plan["breakdown_s"] = {
        "compute": 5.0,
        "comm": {"tp": 1.0, "dp": 0.5},
        "total": 6.5,
        "idle": 0.0,
    }
    frame = tp.breakdown_frame([Document("plan", "p", plan)])
    assert dict(zip(frame["part"], frame["seconds"], strict=True)) == {
        "compute": 5.0,
        "comm.tp": 1.0,
        "comm.dp": 0.5,
    }


def test_uncertainty_both_shapes_and_sensitivity_map():
    plan = samples.sample_plan(gpus=8, uncertainty=False)
    plan["uncertainty"] = {
        "P10": {"days": 9, "usd": 90},
        "P50": {"days": 10, "usd": 100},
        "P90": {"days": 13, "usd": 130},
        "sensitivity": {"mfu": 0.2, "pue": {"low": -0.01, "high": 0.03, "metric": "usd"}},
    }
    docs = [Document("plan", "p", plan)]
    frame = tp.uncertainty_frame(docs)
    assert (
        sorted(frame["metric"]) == ["days", "usd"]
        and frame.set_index("metric").loc["days", "p90"] == 13
    )
    sens = tp.sensitivity_frame(docs).set_index("input")
    assert sens.loc["mfu", "swing"] == pytest.approx(0.2) and sens.loc["pue", "metric"] == "usd"
    assert len(tp.uncertainty_frame(_plans(8))) == 2


def test_comparison_frame():
    frame = tp.comparison_frame([Document("comparison", "c", samples.sample_comparison(5))])
    assert (
        len(frame) == 5
        and (frame["ci_lo"] <= frame["ratio"]).all()
        and (frame["ratio"] <= frame["ci_hi"]).all()
    )
    assert frame["label"].iloc[0] == "gemm_bf16_0 [tflops] m=1024"
    row = {"suite": "memory", "name": "copy", "metric": "gbps", "ratio": 1.0,
           "params": {"kernel": "copy", "bytes": 2**20, "dtype": "fp32", "backend": "torch"}}
    frame = tp.comparison_frame(
        [Document("comparison", "c", {"verdict": "unchanged", "results": [row]})]
    )
    assert frame["label"].iloc[0] == "copy [gbps] bytes=1.00 MiB dtype=fp32"
