"""Property test: random model specs and layouts never raise anything but a one-line UserError."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exabench.analysis.planner.layout import LayoutRequest
from exabench.analysis.planner.plan import build_plan
from exabench.analysis.planner.step import Context
from exabench.errors import UserError
from exabench.workloads.clusters import load_cluster
from exabench.workloads.models import parse_model
from exabench.workloads.profile import load_reference

H100, DGX = load_reference("h100-sxm"), load_cluster("colossus-100k")
small = st.integers(min_value=-2, max_value=64)


@st.composite
def model_docs(draw) -> dict:
    heads = draw(st.sampled_from([1, 2, 3, 4, 8, 16, 0]))
    doc = {
        "layers": draw(small),
        "hidden": heads * draw(st.sampled_from([8, 16, 64])) if heads else 64,
        "heads": heads,
        "vocab": draw(st.integers(min_value=-1, max_value=5000)),
        "seq_len": draw(st.sampled_from([0, 64, 128, 256])),
        "kv_heads": draw(st.sampled_from([1, 2, 4, 8, 3])),
        "activation": draw(st.sampled_from(["gelu", "swiglu", "relu"])),
    }
    if draw(st.booleans()):
        doc["moe"] = {
            "experts": draw(st.sampled_from([0, 2, 4, 8])),
            "top_k": draw(st.sampled_from([1, 2, 3])),
            "expert_ffn_hidden": draw(st.sampled_from([16, 32, 0])),
        }
    if draw(st.booleans()):
        doc["surprise"] = 1
    return doc


options = st.fixed_dictionaries(
    {},
    optional={
        "tp": st.integers(0, 16),
        "pp": st.integers(1, 70),
        "vp": st.integers(1, 4),
        "cp": st.sampled_from([1, 2, 4, 3]),
        "ep": st.sampled_from([1, 2, 4]),
        "dp": st.integers(1, 16),
        "zero": st.integers(0, 3),
        "mbs": st.integers(1, 4),
        "global_batch": st.integers(1, 64),
        "recompute": st.sampled_from(["none", "selective", "full"]),
        "precision": st.sampled_from(["bf16", "fp8"]),
    },
)


@settings(
    max_examples=200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(doc=model_docs(), opts=options, gpus=st.sampled_from([1, 2, 8, 16, 64]))
def test_random_specs_and_layouts_never_crash(doc: dict, opts: dict, gpus: int) -> None:
    try:
        model = parse_model(doc, "random.toml")
        plans = build_plan(
            context=Context(model, H100, DGX),
            gpus=gpus,
            request=LayoutRequest(**opts),
            tokens=1e9,
            top=2,
        )
    except UserError as error:
        assert "\n" not in str(error) and str(error)
        return
    for plan in plans:
        assert plan["step_time_s"] > 0 and 0 < plan["mfu"] < 1 and plan["memory"]["fits"]
