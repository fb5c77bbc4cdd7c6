"""Memory per GPU (analysis/planner/memory.py), hand-computed on a toy model.

The toy: 2 layers, h = 64, 4 heads of 16, MLP 4h = 256, vocabulary 128 (already a multiple of
128, so unpadded), sequence 16. Activations are in units of ``s b h`` bytes (Korthikanti et al.
2022, Table 2): with flash attention and dropout a GeLU layer keeps 10 (norm inputs 4, QKV and
MLP-up inputs 2 + 2, dropout masks 1 + 1) + 24 (Q, K, V 6, attention output 2, GeLU input 8,
MLP-down input 8) = 34.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exabench.analysis.planner.layout import Layout
from exabench.analysis.planner.memory import (
    DEEPSPEED_MAX_LIVE_PARAMETERS,
    FRAGMENTATION,
    GIB,
    RESERVED_GIB,
    layer_activation_bytes,
    memory_parts,
    memory_per_gpu,
)
from exabench.workloads.models import ACTIVATIONS, ModelSpec, parse_model

TOY = {"name": "toy", "layers": 2, "hidden": 64, "heads": 4, "vocab": 128, "seq_len": 16}
SBH = 16 * 1 * 64
"""s b h of one 16-token sequence."""
PARAMS = 2 * (4 * 64 * 64 + 2 * 64) + 2 * (2 * 64 * 256) + 2 * 128 * 64
"""Per layer attention 4h^2, two norms 2h, GeLU MLP 2 h 4h; embedding and untied output V h:
114,944."""


def toy(**change: object) -> ModelSpec:
    return parse_model({**TOY, **change}, "toy.toml")


def act(model: ModelSpec, **layout: object) -> float:
    """Activation bytes of one dense layer, in units of s b h."""
    return layer_activation_bytes(model, False, Layout(seq=16, **layout)) / SBH


def test_the_margins_are_the_documented_ones() -> None:
    assert RESERVED_GIB == 2.5 and FRAGMENTATION == 0.05 and DEEPSPEED_MAX_LIVE_PARAMETERS == 1e9


def test_activations_of_a_gelu_layer_with_and_without_dropout() -> None:
    assert act(toy(), recompute="none") == 10 + 24
    # no dropout: the two 1-byte masks are not kept
    assert act(toy(dropout=False), recompute="none") == 10 - 2 + 24
    # unfused attention also keeps the scores: 5 a s / h = 5 x 4 x 16 / 64 = 5
    assert act(toy(), recompute="none", flash_attention=False) == 34 + 5
    # Megatron's selective recompute drops the scores only
    assert act(toy(), recompute="selective", flash_attention=False) == 34
    # full recompute: the layer input only, 2 s b h
    assert act(toy(), recompute="full") == 2


def test_tp_sequence_parallel_and_grouped_kv() -> None:
    assert act(toy(), recompute="none", tp=2) == 10 / 2 + 24 / 2
    assert act(toy(), recompute="none", tp=2, sequence_parallel=False) == 10 + 24 / 2
    assert act(toy(), recompute="full", tp=2) == 2 / 2
    # 2 kv heads of 4: K and V keep 4 x 2/4 = 2 instead of 4
    assert act(toy(kv_heads=2), recompute="none") == 10 + 24 - 2


def test_fp8_keeps_the_gemm_inputs_as_one_byte_casts() -> None:
    # QKV and MLP-up inputs 1 + 1 instead of 2 + 2; attention-out input 1 instead of 2, MLP-down
    # input 4 (256 / 64 x 1 byte) instead of 8
    assert act(toy(), recompute="none", precision="fp8") == (4 + 1 + 1 + 2) + (6 + 1 + 8 + 4)


def test_squared_relu_and_geglu_activation_bytes() -> None:
    # squared ReLU: one MLP input and one output of f, as GeLU
    assert act(toy(activation="squared_relu"), recompute="none") == 34
    # GeGLU: gate and up outputs (2 x 2 x 256/64 = 16) and the product (2 x 256/64 = 8)
    assert act(toy(activation="geglu"), recompute="none") == 10 + (6 + 2 + 16 + 8)


def test_fsdp_per_op_checkpointing_keeps_every_second_matmul_output() -> None:
    # layer input 2 and attention output 2, plus half of the matmul outputs: Q 2, K and V 4,
    # attention-out 2, MLP-up 2 x 256/64 = 8, MLP-down 2
    assert act(toy(), recompute="selective", framework="fsdp") == 2 + 2 + (2 + 4 + 2 + 8 + 2) / 2


def test_zero3_holds_two_gathered_layers() -> None:
    lo = Layout(dp=8, zero=3, seq=16, global_batch=8, recompute="none")
    parts = memory_parts(toy(), lo)
    # the bf16 shard, plus the layer computing and the one prefetched, gathered whole
    assert parts["weights"] == pytest.approx(2 * PARAMS / 8 + 2 * 2 * PARAMS / 2)
    assert parts["gradients"] == pytest.approx(4 * PARAMS / 8)  # fp32 reduce, sharded
    assert parts["optimizer"] == pytest.approx(12 * PARAMS / 8)
    bf16_grads = memory_parts(toy(), Layout(dp=8, zero=3, seq=16, global_batch=8,
                                             grad_reduce_bytes=2))
    assert bf16_grads["gradients"] == pytest.approx(2 * PARAMS / 8)
    assert memory_parts(toy(), Layout(dp=8, zero=1, seq=16, global_batch=8))["weights"] == (
        pytest.approx(2 * PARAMS))


def test_deepspeed_caps_the_gathered_parameters() -> None:
    # h = 8192: a layer of 4h^2 + 8h^2 parameters; two such layers gathered in bf16 = 3.2 GB,
    # over DeepSpeed's 1e9 live parameters (2 GB)
    big = parse_model({**TOY, "hidden": 8192, "heads": 64}, "big.toml")
    h = 8192
    params = 2 * (12 * h * h + 2 * h) + 2 * 128 * h
    lo = Layout(dp=8, zero=3, seq=16, global_batch=8, recompute="none")
    gathered = 2 * 2 * params / 2
    assert gathered > 2 * 1e9
    assert memory_parts(big, lo)["weights"] == pytest.approx(2 * params / 8 + gathered)
    deepspeed = memory_parts(big, Layout(dp=8, zero=3, seq=16, global_batch=8,
                                         recompute="none", framework="deepspeed"))
    assert deepspeed["weights"] == pytest.approx(2 * params / 8 + 2 * 1e9)


TOY_BYTES = 18 * PARAMS + 2 * 34 * SBH + 2 * 4 * 16 * 128
"""One GPU, ZeRO-0, no recompute: bf16 weights 2, fp32 gradients 4, Adam 12 bytes per
parameter; two layers of 34 s b h; fp32 logits and their gradient (2 x 4 x s x V)."""


def test_memory_per_gpu_by_hand_and_the_tight_boundary() -> None:
    lo = Layout(seq=16, global_batch=1, zero=0, recompute="none")
    bare = TOY_BYTES / GIB + 2.5
    total = bare + 0.05 * TOY_BYTES / GIB  # fragmentation: 5 % of the tensors, not the reserve
    mem = memory_per_gpu(toy(), lo, 80.0)
    assert mem["gib_per_gpu"] == pytest.approx(total, rel=1e-12)
    assert mem["parts"]["reserved"] == 2.5 and mem["fits"] and not mem["tight"]
    at_total = memory_per_gpu(toy(), lo, mem["gib_per_gpu"])
    assert at_total["fits"] and not at_total["tight"]
    exact_bare = mem["gib_per_gpu"] - mem["parts"]["fragmentation"]
    assert exact_bare == pytest.approx(bare, rel=1e-12)
    at_bare = memory_per_gpu(toy(), lo, exact_bare)
    assert at_bare["fits"] and at_bare["tight"]  # over only by the margin: kept, tight
    below = memory_per_gpu(toy(), lo, exact_bare * (1 - 1e-9))
    assert not below["fits"] and not below["tight"]


@settings(max_examples=40, deadline=None, derandomize=True)
@given(activation=st.sampled_from(ACTIVATIONS), dropout=st.booleans(),
       recompute=st.sampled_from(["none", "selective", "full"]), tp=st.sampled_from([1, 2, 4]),
       precision=st.sampled_from(["bf16", "fp8"]), framework=st.sampled_from(
           ["megatron", "fsdp", "deepspeed"]), flash=st.booleans())
def test_recompute_never_keeps_more(activation: str, dropout: bool, recompute: str, tp: int,
                                    precision: str, framework: str, flash: bool) -> None:
    model = toy(activation=activation, dropout=dropout)
    lo = {"tp": tp, "precision": precision, "framework": framework, "flash_attention": flash}
    kept = act(model, recompute=recompute, **lo)
    assert 0 < kept <= act(model, recompute="none", **lo)
    assert act(model, recompute="full", **lo) <= kept
    if not dropout:
        assert kept <= act(toy(activation=activation, dropout=True), recompute=recompute, **lo)


def test_fp8_adds_te_s_cached_weight_cast_and_transpose() -> None:
    from dataclasses import replace

    from exabench.analysis.planner.memory import FP8_WEIGHT_COPIES, stage_params
    from exabench.workloads.models import load_model

    llama = load_model("llama3-8b")
    lo = Layout(tp=1, dp=8, zero=1, global_batch=8, seq=8192)
    dense, _ = stage_params(llama, lo, 0)
    bf16 = memory_parts(llama, lo)["weights"]
    fp8 = memory_parts(llama, replace(lo, precision="fp8"))["weights"]
    assert FP8_WEIGHT_COPIES == 2 and fp8 - bf16 == pytest.approx(2 * dense)
    # ZeRO-3 shards the cached copies with the weights
    z3 = replace(lo, zero=3)
    assert (memory_parts(llama, replace(z3, precision="fp8"))["weights"]
            - memory_parts(llama, z3)["weights"]) == pytest.approx(2 * dense / 8)
