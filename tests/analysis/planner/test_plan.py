from __future__ import annotations

import pytest

from exabench.analysis.planner.layout import LayoutRequest
from exabench.analysis.planner.plan import SCHEMA, build_plan
from exabench.analysis.planner.step import Context
from exabench.errors import UserError
from exabench.workloads.clusters import load_cluster
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
