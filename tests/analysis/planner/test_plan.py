from __future__ import annotations

from dataclasses import replace

import pytest

from exabench.analysis.planner.layout import Layout, LayoutRequest
from exabench.analysis.planner.plan import (
    FRAMEWORK,
    OVERLAPS,
    SCHEMA,
    build_plan,
    overlap_text,
    with_framework,
)
from exabench.analysis.planner.step import Context
from exabench.errors import UserError
from exabench.workloads.clusters import load_cluster
from exabench.workloads.frameworks import PER_LAYER, load_framework
from exabench.workloads.models import load_model
from exabench.workloads.profile import load_reference

CTX = Context(load_model("llama3-70b"), load_reference("h100-sxm"), load_cluster("meta-24k-roce"))
DESIGN_FIELDS = {
    "inputs",
    "step_time_s",
    "tokens_per_s_per_gpu",
    "model_tflops_per_gpu",
    "mfu",
    "memory",
    "breakdown_s",
    "training",
    "power",
    "cost",
    "uncertainty",
}


def test_plan_has_the_design_fields_and_says_what_was_searched() -> None:
    [plan] = build_plan(
        context=CTX, gpus=512, request=LayoutRequest(tp=8, precision="bf16"), tokens=15e12
    )
    assert plan["schema"] == SCHEMA and DESIGN_FIELDS <= set(plan)
    assert {"gib_per_gpu", "fits", "parts"} <= set(plan["memory"])
    assert {"tokens", "days", "gpu_hours", "goodput", "interruptions"} <= set(plan["training"])
    assert {"it_mw", "facility_mw", "energy_mwh"} <= set(plan["power"]) and {
        "usd",
        "usd_per_gpu_hour",
        "parts",
    } <= set(plan["cost"])
    assert (
        "tp" not in plan["inputs"]["chosen_by_search"]
        and "pp" in plan["inputs"]["chosen_by_search"]
    )
    assert plan["inputs"]["layout"]["tp"] == 8 and plan["training"]["tokens"] == 15e12
    kinds = {a["name"]: a["kind"] for a in plan["inputs"]["assumptions"]}
    assert kinds["global_batch"] == "assumed" and all(
        a["source"] for a in plan["inputs"]["assumptions"]
    )
    assert plan["training"]["kind"] in ("published", "measured") and plan["power"]["kind"] in (
        "published",
        "measured",
    )
    days = 15e12 / (plan["tokens_per_s_per_gpu"] * 512) / plan["training"]["goodput"] / 86400
    assert plan["training"]["days"] == pytest.approx(days)


def test_a_fully_given_layout_is_evaluated_not_searched() -> None:
    opts = {"tp": 8, "pp": 4, "vp": 1, "cp": 1, "dp": 16, "zero": 1, "mbs": 1, "recompute": "full",
            "global_batch": 512, "precision": "bf16"}
    [plan] = build_plan(context=CTX, gpus=512, request=LayoutRequest(**opts))
    assert plan["inputs"]["chosen_by_search"] == []
    # no search to explain; the why line says only which communication the framework overlaps
    assert plan["why"].startswith("megatron overlaps TP collectives")
    assert plan["inputs"]["framework"]["name"] == "megatron"
    assert any(
        a["name"] == "tokens" and a["kind"] == "assumed" for a in plan["inputs"]["assumptions"]
    )


@pytest.mark.parametrize(
    "opts, message",
    [
        (
            {
                "tp": 8,
                "pp": 1,
                "vp": 1,
                "cp": 1,
                "dp": 64,
                "zero": 0,
                "mbs": 1,
                "recompute": "none",
                "global_batch": 64,
            },
            "needs .* GiB per GPU",
        ),
        ({"tp": 8, "pp": 4, "cp": 1, "dp": 3}, "must divide gpus = 512|must equal gpus = 512"),
        ({"tp": 5}, "^tp = 5 must divide"),
    ],
)
def test_impossible_plans_are_user_errors(opts: dict, message: str) -> None:
    with pytest.raises(UserError, match=message):
        build_plan(context=CTX, gpus=512, request=LayoutRequest(**opts))


def test_search_returns_several_plans_best_first() -> None:
    plans = build_plan(context=CTX, gpus=512, request=LayoutRequest(), top=4)
    assert len(plans) == 4 and "why" in plans[0]
    rates = [p["tokens_per_s_per_gpu"] for p in plans]
    assert rates == sorted(rates, reverse=True)


# --- framework presets fill the request; the Plan says which overlaps it assumed ---------------

def test_with_framework_fills_the_knobs_left_out_from_megatron_by_default() -> None:
    preset = load_framework("megatron")
    request, assumptions = with_framework(LayoutRequest())
    assert request.framework == "megatron"
    filled = [k for k in FRAMEWORK if k != "flash_attention"]
    assert [a["name"] for a in assumptions] == filled
    for key in filled:
        assert getattr(request, key) == preset.knobs[key]
    for a in assumptions:
        assert a["kind"] == "published"
        assert a["source"] == f"framework megatron: {preset.sources[a['name']]}"
    # recompute and zero stay the search's (megatron's preset is not fully sharded)
    assert request.zero is None and request.recompute is None


def test_fsdp_is_zero3_and_reduces_one_layer_at_a_time() -> None:
    preset = load_framework("fsdp")
    request, assumptions = with_framework(LayoutRequest(framework="fsdp", tp_comm_overlap=False))
    by_name = {a["name"]: a for a in assumptions}
    assert request.zero == 3 and by_name["zero"]["source"] == (
        f"framework fsdp: {preset.sources['zero']}")
    # "layer" is 0 MB in the layout (step.py: one layer per bucket); the assumption says "layer"
    assert request.dp_bucket_mb == 0.0 and by_name["dp_bucket_mb"]["value"] == PER_LAYER
    assert request.attention_kernel == "cudnn"
    # what the caller set stays, and is no assumption
    assert request.tp_comm_overlap is False and "tp_comm_overlap" not in by_name
    fixed, assumed = with_framework(LayoutRequest(framework="fsdp", zero=1))
    assert fixed.zero == 1 and "zero" not in {a["name"] for a in assumed}
    # DeepSpeed's preset is ZeRO-2: not fully sharded, so the search still chooses
    assert with_framework(LayoutRequest(framework="deepspeed"))[0].zero is None


def test_overlap_text_lists_what_is_hidden_and_what_is_exposed() -> None:
    names = [key for key, _, _ in OVERLAPS]
    # every kind of communication in use: TP, DP (with CP), PP, CP, EP, ZeRO-3
    every = {"tp": 2, "dp": 4, "pp": 2, "cp": 2, "ep": 2, "zero": 3}
    off = Layout(framework="mine", **every, **{key: False for key in names})
    assert overlap_text(off) == (
        "mine overlaps nothing; exposed: TP collectives, DP reduce/gather (bucketed), PP sends, "
        "CP ring, EP all-to-all, ZeRO-3 gathers (prefetch), kernel launches (CUDA graphs)")
    on = Layout(framework="mine", **every, **{key: True for key in names})
    assert overlap_text(on).endswith("; exposed: nothing")
    some = replace(off, tp_comm_overlap=True, cuda_graphs=True)
    assert overlap_text(some).startswith(
        "mine overlaps TP collectives, kernel launches (CUDA graphs); exposed: DP reduce")
    # one GPU: only the launches are left to mention
    alone = Layout(framework="mine", **{key: False for key in names})
    assert overlap_text(alone) == "mine overlaps nothing; exposed: kernel launches (CUDA graphs)"


FIXED = {"tp": 8, "pp": 4, "vp": 1, "cp": 1, "dp": 16, "mbs": 1, "recompute": "full",
         "global_batch": 512, "precision": "bf16"}


def test_a_plan_names_its_framework_and_its_overlaps() -> None:
    [plan] = build_plan(context=CTX, gpus=512,
                        request=LayoutRequest(**FIXED, zero=3, framework="fsdp"))
    framework = plan["inputs"]["framework"]
    assert framework["name"] == "fsdp" and framework["attention_kernel"] == "cudnn"
    assert framework["dp_bucket_mb"] == 0.0 and framework["tp_comm_overlap"] is True
    assert set(FRAMEWORK) <= set(framework)
    assert plan["why"] == (
        "fsdp overlaps TP collectives, DP reduce/gather (bucketed), ZeRO-3 gathers (prefetch); "
        "exposed: PP sends, kernel launches (CUDA graphs)")
    assert any(a["source"].startswith("framework fsdp: ")
               for a in plan["inputs"]["assumptions"])
    [own] = build_plan(context=CTX, gpus=512,
                       request=LayoutRequest(**FIXED, zero=1, tp_comm_overlap=False))
    assert own["inputs"]["framework"]["tp_comm_overlap"] is False
    assert own["why"].startswith("megatron overlaps DP reduce/gather (bucketed)")
    assert "exposed: TP collectives" in own["why"]


def test_a_plan_carries_one_layer_kernel_by_kernel() -> None:
    [plan] = build_plan(context=CTX, gpus=512, request=LayoutRequest(**FIXED, zero=1))
    ops = plan["layer_ops"]
    names = [o["name"] for o in ops["ops"]]
    # Llama 3: rotary positions, no dropout, SwiGLU; bf16: no fp8 casts
    assert names == ["qkv", "attn_out", "mlp_up", "mlp_down", "attention", "norms", "residuals",
                     "rotary", "activation"]
    assert all(o["fwd_s"] > 0 and o["bwd_s"] > 0 and o["kernels"] >= 1 for o in ops["ops"])
    assert ops["total_s"] == pytest.approx(
        sum(o["fwd_s"] + o["bwd_s"] for o in ops["ops"]) + ops["launch_s"])
