from __future__ import annotations

import pytest

from exabench.analysis.planner.layout import LayoutRequest
from exabench.analysis.planner.scale import curve_points, gpu_counts, gpus_for_days, scaling_curve
from exabench.analysis.planner.step import Context
from exabench.errors import UserError
from exabench.workloads.clusters import load_cluster
from exabench.workloads.models import load_model
from exabench.workloads.profile import load_reference


def test_gpu_counts_and_curve_points() -> None:
    assert gpu_counts(8, 100, 8) == [8, 16, 24, 32, 48, 64, 96]
    pts = curve_points(100_000, 20, 8)
    assert len(pts) == 20 and pts[0] == 8 and pts[-1] == 98_304 and pts == sorted(set(pts))


def test_scaling_curve_rows() -> None:
    ctx = Context(
        load_model("llama3-70b"), load_reference("h100-sxm"), load_cluster("meta-24k-roce")
    )
    rows = scaling_curve(ctx, points=5, max_gpus=16_384, tokens=15e12)
    assert [r["gpus"] for r in rows][0] == 8 and rows[-1]["gpus"] == 16_384
    fit = [r for r in rows if r["fits"]]
    assert fit and max(r["efficiency"] for r in fit) == pytest.approx(1.0)
    big = fit[-1]
    assert big["tokens_per_s"] == pytest.approx(big["tokens_per_s_per_gpu"] * big["gpus"])
    assert big["usd_per_million_tokens"] > 0 and big["goodput"] < fit[0]["goodput"]
    assert all(r["days"] > 0 for r in fit) and fit[-1]["days"] < fit[0]["days"]


def test_gpus_for_days() -> None:
    ctx = Context(
        load_model("llama3-8b"), load_reference("h100-sxm"), load_cluster("meta-24k-roce")
    )
    plan = gpus_for_days(
        ctx, days=30, tokens=1e12, request=LayoutRequest(precision="bf16", mbs=1), max_gpus=4096
    )
    assert plan["training"]["days"] <= 30 and plan["inputs"]["target_days"] == 30
    with pytest.raises(UserError, match="needs more than"):
        gpus_for_days(ctx, days=30, tokens=1e12, request=LayoutRequest(precision="bf16", mbs=1),
                      max_gpus=plan["inputs"]["gpus"] // 2)
    with pytest.raises(UserError, match="^days = 0 is not valid"):
        gpus_for_days(ctx, days=0, tokens=1e12, request=LayoutRequest())
