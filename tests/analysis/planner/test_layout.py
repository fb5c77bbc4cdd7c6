from __future__ import annotations

import pytest

from exabench.analysis.planner.layout import (
    Layout,
    LayoutRequest,
    check_fixed,
    check_layout,
    describe_layout,
)
from exabench.errors import UserError
from exabench.workloads.models import load_model

LLAMA = load_model("llama3-405b")


def test_valid_layout_and_microbatches() -> None:
    lo = Layout(tp=8, pp=16, cp=1, dp=128, mbs=1, global_batch=2048, seq=8192)
    check_layout(LLAMA, lo, 16384)
    assert lo.microbatches == 16 and lo.gpus == 16384


@pytest.mark.parametrize("change, gpus, message", [
    ({"tp": 3}, None, "^tp = 3 must divide the 128 attention heads"),
    ({"tp": 16}, None, None),  # kv heads replicated: 16 is a multiple of 8
    ({"dp": 3}, 16, "must equal gpus = 16"),
    ({"pp": 200}, None, "^pp = 200 exceeds the 126 layers"),
    ({"vp": 2}, None, "^vp = 2 needs pp > 1"),
    ({"cp": 3}, None, "must split into 2 x cp"),
    ({"ep": 2}, None, "needs a mixture-of-experts model"),
    ({"zero": 4}, None, "valid: 0, 1, 2, 3"),
    ({"mbs": 0}, None, "^mbs = 0 is not valid"),
    ({"global_batch": 3, "dp": 2}, None, "must be a multiple of dp x mbs"),
    ({"recompute": "some"}, None, "valid: none, selective, full"),
    ({"precision": "fp4"}, None, "valid: bf16, fp16, fp8"),
])
def test_impossible_layouts_name_the_field(
    change: dict, gpus: int | None, message: str | None
) -> None:
    lo = Layout(**{"global_batch": 16, **change})
    if message is None:
        check_layout(LLAMA, lo, gpus)
        return
    with pytest.raises(UserError, match=message.replace("(", r"\(")):
        check_layout(LLAMA, lo, gpus)


def test_moe_expert_parallel_rules() -> None:
    mixtral = load_model("mixtral-8x7b")
    with pytest.raises(UserError, match="must divide the 8 experts"):
        check_layout(mixtral, Layout(ep=3, dp=3, global_batch=3))
    with pytest.raises(UserError, match="must divide dp x cp"):
        check_layout(mixtral, Layout(ep=4, dp=2, global_batch=2))
    check_layout(mixtral, Layout(ep=4, dp=4, global_batch=4))


def test_check_fixed_names_a_partial_layout_problem() -> None:
    with pytest.raises(UserError, match="must divide gpus = 64"):
        check_fixed(LLAMA, LayoutRequest(tp=8, pp=4, dp=3), 64, Layout())
    with pytest.raises(UserError, match="= 128 must equal gpus = 64"):
        check_fixed(LLAMA, LayoutRequest(tp=8, pp=4, dp=4, cp=1), 64, Layout())
    check_fixed(LLAMA, LayoutRequest(tp=8, pp=16), 16384, Layout())


def test_one_layout_text_for_a_layout_and_for_a_plan_read_back() -> None:
    lo = Layout(tp=8, pp=16, vp=4, dp=128, zero=2, recompute="full", precision="fp8")
    assert lo.describe() == "TP8 PP16x4 CP1 EP1 DP128 ZeRO-2 mbs 1 full fp8"
    as_json = {
        "tp": 8,
        "pp": 16,
        "vp": 4,
        "cp": 1,
        "ep": 1,
        "dp": 128,
        "zero": 2,
        "mbs": 1,
        "recompute": "full",
        "precision": "fp8",
        "global_batch": 2048,
        "microbatches": 16,
    }
    assert describe_layout(as_json) == lo.describe()
    assert (
        describe_layout({"tp": 8, "pp": 4, "vp": "x", "dp": 32}) == "TP8 PP4 DP32"
    )  # an older or odd Plan


def test_a_request_fixes_exactly_the_fields_published_runs_may_state() -> None:
    from dataclasses import fields

    from exabench.workloads.published import LAYOUT_KEYS

    assert {f.name for f in fields(LayoutRequest)} == LAYOUT_KEYS
    assert LayoutRequest(tp=8, zero=0).given() == {"tp": 8, "zero": 0}
