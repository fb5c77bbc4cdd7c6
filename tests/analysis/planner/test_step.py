from __future__ import annotations

from dataclasses import replace

import pytest

from exabench.analysis.planner.layout import Layout
from exabench.analysis.planner.step import BREAKDOWN_KEYS, Context, evaluate
from exabench.workloads.clusters import load_cluster
from exabench.workloads.models import load_model
from exabench.workloads.profile import load_reference

CTX = Context(load_model("llama3-70b"), load_reference("h100-sxm"), load_cluster("meta-24k-roce"))
LO = Layout(
    tp=8, pp=4, vp=2, dp=8, mbs=1, global_batch=256, seq=8192, zero=1, recompute="selective"
)


def test_breakdown_sums_to_the_step_and_mfu_follows_the_convention() -> None:
    r = evaluate(CTX, LO)
    assert set(r["breakdown_s"]) == set(BREAKDOWN_KEYS)
    assert sum(r["breakdown_s"].values()) == pytest.approx(r["step_time_s"])
    tokens = 256 * 8192
    flops = CTX.flops("model", 8192) * tokens
    assert r["mfu"] == pytest.approx(flops / r["step_time_s"] / 256 / 989.4e12)
    assert r["tokens_per_s_per_gpu"] == pytest.approx(tokens / r["step_time_s"] / 256)
    assert r["hfu"] > r["mfu"]  # selective recompute repeats the attention core


def test_bubble_is_p_minus_1_over_v_m_of_the_ideal_time() -> None:
    r = evaluate(CTX, LO)
    b = r["breakdown_s"]
    ideal = sum(b[k] for k in ("compute", "tp_comm", "cp_comm", "ep_comm", "pp_comm"))
    assert b["bubble"] / ideal == pytest.approx((4 - 1) / (2 * 32))


def test_physics_moves_the_right_way() -> None:
    base = evaluate(CTX, LO)["step_time_s"]
    assert evaluate(CTX, replace(LO, recompute="full"))["step_time_s"] > base
    assert evaluate(CTX, replace(LO, precision="fp8"))["step_time_s"] < base
    assert (
        evaluate(CTX, replace(LO, vp=1))["breakdown_s"]["bubble"]
        > evaluate(CTX, LO)["breakdown_s"]["bubble"]
    )
    no_overlap = evaluate(CTX, replace(LO, overlap_dp=False))["breakdown_s"]["dp_comm"]
    assert no_overlap >= evaluate(CTX, LO)["breakdown_s"]["dp_comm"] > 0


def test_moe_layers_pay_all_to_all_and_single_gpu_has_no_comm() -> None:
    mixtral = Context(
        load_model("mixtral-8x7b"), load_reference("h100-sxm"), load_cluster("colossus-100k")
    )
    r = evaluate(mixtral, Layout(tp=2, pp=1, ep=8, dp=64, global_batch=512, seq=4096, zero=1))
    assert r["breakdown_s"]["ep_comm"] > 0
    one = Context(load_model("llama3-8b"), load_reference("h100-sxm"), load_cluster("dgx-h100"))
    r1 = evaluate(one, Layout(global_batch=4, seq=2048, zero=0))
    assert all(
        r1["breakdown_s"][k] == 0
        for k in ("tp_comm", "pp_comm", "dp_comm", "bubble", "cp_comm", "ep_comm")
    )
