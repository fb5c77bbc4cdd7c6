from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exabench.analysis.planner.compute import (
    EAGER_NORM,
    Op,
    attention_time,
    gemm_time,
    layer_gemms,
    layer_ops,
    layer_time,
    memory_passes,
    straggler_factor,
    summarize,
)
from exabench.analysis.planner.layout import Layout
from exabench.workloads.models import ACTIVATIONS, POSITIONS, ModelSpec, load_model, parse_model
from exabench.workloads.profile import load_reference

H100 = load_reference("h100-sxm")


def test_big_gemm_runs_at_the_curve_efficiency() -> None:
    m = n = k = 16384
    flops = 2.0 * m * n * k
    expected = flops / (989.4e12 * H100.gemm_efficiency("bf16", flops))
    assert gemm_time(H100, "bf16", m, n, k) == pytest.approx(expected)
    assert gemm_time(H100, "fp8", m, n, k) < gemm_time(H100, "bf16", m, n, k)


def test_skinny_gemm_is_bandwidth_bound() -> None:
    n = k = 16384
    t = gemm_time(H100, "bf16", 1, n, k)
    nbytes = (k + k * n) * 2 + n * 2
    assert t == pytest.approx(nbytes / H100.hbm_bytes_per_s(nbytes))


def test_layer_gemm_shapes_under_tp() -> None:
    llama = load_model("llama3-70b")
    shapes = layer_gemms(llama, False, 8192, 8, 1)
    # QKV: (64/8 + 2*8/8) heads x 128; MLP up: 2 x 28672 / 8 (SwiGLU)
    assert shapes[0] == (8192, 1280, 8192, 1) and shapes[2] == (8192, 7168, 8192, 1)
    mixtral = load_model("mixtral-8x7b")
    moe = layer_gemms(mixtral, True, 4096, 1, 8)
    assert (
        4096 * 2 * 8 / 8,
        2 * 14336,
        4096,
        1,
    ) in moe  # one local expert sees 2/8 of 8 ranks' tokens


def test_flash_attention_halves_causal_work_and_fp8_keeps_attention_bf16() -> None:
    llama = load_model("llama3-8b")
    flash = attention_time(llama, Layout(seq=8192, attention_kernel="fa2"), H100)
    # causal: 2 b h s s (d + d) / 2 per layer, FA2 at 8k runs 333 TFLOP/s forward and 286
    # backward (FA3 paper, Figs. 5-6, as the H100 profile carries them); the backward does 2.5 x
    # the forward's FLOPs
    flops = 2.0 * 32 * 8192 * 8192 * 256 / 2
    assert flash[0] == pytest.approx(flops / 333e12)
    assert flash[1] == pytest.approx(2.5 * flops / 286e12)
    fa3 = attention_time(llama, Layout(seq=8192, attention_kernel="fa3"), H100)
    assert fa3[0] == pytest.approx(flops / 602e12)
    unfused = attention_time(llama, Layout(seq=8192, flash_attention=False), H100)
    assert unfused[0] > flash[0]
    assert attention_time(llama, Layout(seq=8192, precision="fp8"), H100) == flash
    bf16, fp8 = layer_time(llama, False, Layout(seq=8192), H100), layer_time(
        llama, False, Layout(seq=8192, precision="fp8"), H100
    )
    assert fp8.gemm_fwd < bf16.gemm_fwd and fp8.attn_fwd == bf16.attn_fwd


def test_straggler_factor() -> None:
    assert straggler_factor(1, 0.05) == 1.0 and straggler_factor(1000, 0.0) == 1.0
    eight = straggler_factor(8, 0.05)
    # slowest of 8: ~1.42 sigma below the mean, sigma = 5 % / 2.847
    assert eight == pytest.approx(1 / (1 - 0.05 / 2.847 * 1.42), rel=0.01)
    assert eight < straggler_factor(1024, 0.05) < straggler_factor(16384, 0.05) < 1.08


# --- operator level: memory-bound passes, kernels of a layer, launches -------------------------

TOY = {"name": "toy", "layers": 2, "hidden": 64, "heads": 4, "vocab": 128, "seq_len": 16}
"""h = 64, 4 heads of 16, MLP 4h = 256, GeLU, learned positions, dropout (the defaults)."""


def toy(**change: object) -> ModelSpec:
    return parse_model({**TOY, **change}, "toy.toml")


def passes(model: ModelSpec, tokens: int, **layout: object) -> dict[str, tuple[float, int]]:
    return {name: (nbytes, kernels)
            for name, nbytes, kernels in memory_passes(model, False, tokens, Layout(**layout))}


def test_norm_residual_and_activation_bytes_of_one_token_fused_and_eager() -> None:
    h, f = 64, 256
    fused = passes(toy(), 1)
    # fused norm: read and write bf16 (2 + 2 bytes per element), two norms per layer
    assert fused["norms"] == (2 * (2 + 2) * h, 2)
    # eager norm, op by op (bytes read + written per element): upcast 2+4, square 4+4, mean 4,
    # rsqrt-multiply 4+4, downcast 4+2, weight multiply 2+2 = 36; 7 kernels per norm
    eager = passes(toy(), 1, fused_elementwise=False)
    assert eager["norms"] == (2 * (2 + 4 + 4 + 4 + 4 + 4 + 4 + 4 + 2 + 2 + 2) * h, 2 * 7)
    assert EAGER_NORM == 36
    # residual add: read two bf16 inputs, write one (6 bytes) plus the 1-byte dropout mask;
    # eager, dropout is a pass of its own (read 2, write 2 and the mask): 2 kernels each
    assert fused["residuals"] == (2 * (6 + 1) * h, 2)
    assert eager["residuals"] == (2 * ((2 + 2 + 1) + 6) * h, 2 * 2)
    # without dropout the eager residual is the add alone
    plain = passes(toy(dropout=False), 1, fused_elementwise=False)
    assert plain["residuals"] == (2 * 6 * h, 2)
    # GeLU: read and write f bf16 elements; eager, the bias add first (twice the bytes)
    assert fused["activation"] == ((2 + 2) * f, 1)
    assert eager["activation"] == (2 * (2 + 2) * f, 2)
    # learned positions: no rotary pass; bf16: no casts
    assert set(fused) == set(eager) == {"norms", "residuals", "activation"}


def test_a_model_without_dropout_writes_no_mask() -> None:
    assert passes(toy(dropout=False), 1)["residuals"] == (2 * 6 * 64, 2)


def test_rotary_and_gated_activation_bytes() -> None:
    # 4 heads of 16, 2 kv heads: rotary reads and writes Q and K, (4 + 2) x 16 elements per token
    model = toy(position="rope", activation="swiglu", kv_heads=2, ffn_hidden=128)
    fused, eager = passes(model, 1), passes(model, 1, fused_elementwise=False)
    assert fused["rotary"] == ((2 + 2) * (4 + 2) * 16, 1)
    # eager: upcast 2+4, complex multiply 4+4, downcast 4+2 = 20 bytes per element, 6 kernels
    assert eager["rotary"] == ((2 + 4 + 4 + 4 + 4 + 2) * (4 + 2) * 16, 6)
    # SwiGLU: read gate and up (2 x 2f bytes), write f (2f); eager: SiLU (read f, write f) then
    # the product (read 2f, write f), in bf16
    assert fused["activation"] == (2 * (2 * 128 + 128), 1)
    assert eager["activation"] == (2 * ((128 + 128) + (2 * 128 + 128)), 2)
    # TP 4 over 2 kv heads: each rank holds 1 query head and a replicated kv head
    assert passes(model, 1, tp=4)["rotary"] == ((2 + 2) * (1 + 1) * 16, 1)
    assert "rotary" not in passes(toy(position="alibi"), 1)


def test_sequence_parallel_splits_the_norms_and_residuals_over_tp() -> None:
    h, f, tokens = 64, 256, 8
    sp = passes(toy(), tokens, tp=2)
    assert sp["norms"][0] == tokens / 2 * 2 * 4 * h
    assert sp["residuals"][0] == tokens / 2 * 2 * 7 * h
    assert sp["activation"][0] == tokens * 4 * f / 2  # the MLP width is split instead
    no_sp = passes(toy(), tokens, tp=2, sequence_parallel=False)
    assert no_sp["norms"][0] == tokens * 2 * 4 * h


def test_fp8_cast_bytes() -> None:
    # attention-out input (4 heads x 16 = 64 wide) and MLP-down input (256 wide): cast (read 2,
    # write 1) and transposed copy (write 1) = 4 bytes per element; QKV and MLP-up inputs
    # (h = 64 each): the transposed copy and the cast's write, 2 bytes (the read is the norm's)
    assert passes(toy(), 1, precision="fp8")["fp8_casts"] == (4 * (64 + 256) + 2 * 2 * 64, 4)
    assert passes(toy(), 1, tp=2, precision="fp8")["fp8_casts"] == (
        4 * (32 + 128) + 2 * 2 * 64, 4)


def test_moe_permute_bytes() -> None:
    moe = toy(moe={"experts": 4, "top_k": 2, "expert_ffn_hidden": 32})
    out = {name: (nbytes, k) for name, nbytes, k in memory_passes(moe, True, 1, Layout())}
    # each token's h bf16 values copied to its 2 experts and back, read and written: 4 x 2 x 2h
    assert out["moe_permute"] == (4 * 2 * 64 * 2, 4)
    assert out["activation"] == (4 * 32 * 2, 1)  # 2 routed experts of 32 wide per token


def test_layer_ops_price_each_kernel() -> None:
    ops = {o.name: o for o in layer_ops(toy(), False, Layout(seq=16), H100)}
    assert list(ops) == ["qkv", "attn_out", "mlp_up", "mlp_down", "attention", "norms",
                         "residuals", "activation"]
    # QKV: 16 tokens x 192 x 64 -- one tile, under one wave (split over K, no wave bound): the
    # slower of the curve at 2 x 16 x 192 x 64 FLOP and the HBM bytes of A, B and C
    flops = 2 * 16 * 192 * 64
    nbytes = (16 * 64 + 64 * 192 + 16 * 192) * 2
    expected = max(flops / (989.4e12 * H100.gemm_efficiency("bf16", flops)),
                   nbytes / H100.hbm_bytes_per_s(nbytes))
    assert ops["qkv"].fwd == pytest.approx(expected)
    # norms: 16 tokens x 2 norms x 4 bytes x 64 = 8 KB, two 4 KB kernels (HBM at 0.3 below 0.1 MB)
    assert ops["norms"].fwd == pytest.approx(16 * 2 * 4 * 64 / (3350e9 * H100.hbm.ys[0]))
    assert all(o.bwd == 2 * o.fwd for o in ops.values() if o.kind == "memory")
    assert ops["attention"].kernels == 1
    unfused = layer_ops(toy(), False, Layout(seq=16, flash_attention=False), H100)
    assert [o.kernels for o in unfused if o.name == "attention"] == [4]


def test_summarize_adds_the_launches_and_the_backward_launches_twice() -> None:
    ops = (Op("a", "gemm", 3e-6, 6e-6), Op("b", "attention", 1e-6, 2e-6),
           Op("c", "memory", 1e-6, 2e-6, kernels=3))
    lt = summarize(ops, cuda_graphs=False)
    assert (lt.gemm_fwd, lt.attn_bwd, lt.elem_fwd) == (3e-6, 2e-6, 1e-6)
    # 5 kernels forward, busy 5 us, issued in 5 x 8 us: 35 us waiting for the host; backward:
    # 10 kernels, busy 10 us, 80 us to issue: 70 us
    assert lt.launch_fwd == pytest.approx(5 * 8e-6 - 5e-6)
    assert lt.launch_bwd == pytest.approx(10 * 8e-6 - 10e-6)
    assert lt.fwd == pytest.approx(5e-6 + 35e-6) and lt.bwd == pytest.approx(10e-6 + 70e-6)
    graphs = summarize(ops, cuda_graphs=True)
    assert (graphs.launch_fwd, graphs.launch_bwd) == pytest.approx((5 * 2e-6, 10 * 2e-6))


def test_a_tiny_layer_waits_for_the_host_unless_graphed() -> None:
    # 10 kernels: 4 GEMMs, the fused attention, 2 norms, 2 residual adds, the activation
    eager = layer_time(toy(), False, Layout(seq=16), H100)
    busy = eager.gemm_fwd + eager.attn_fwd + eager.elem_fwd
    assert busy < 10 * 8e-6
    assert eager.launch_fwd == pytest.approx(10 * 8e-6 - busy)
    graphs = layer_time(toy(), False, Layout(seq=16, cuda_graphs=True), H100)
    assert (graphs.launch_fwd, graphs.launch_bwd) == pytest.approx((10 * 2e-6, 20 * 2e-6))


@settings(max_examples=40, deadline=None, derandomize=True)
@given(activation=st.sampled_from(ACTIVATIONS), position=st.sampled_from(POSITIONS),
       dropout=st.booleans(), tp=st.sampled_from([1, 2, 4]), sp=st.booleans(),
       precision=st.sampled_from(["bf16", "fp8"]), tokens=st.integers(1, 4096))
def test_eager_passes_never_move_fewer_bytes_than_fused(
    activation: str, position: str, dropout: bool, tp: int, sp: bool, precision: str, tokens: int
) -> None:
    model = toy(activation=activation, position=position, dropout=dropout)
    lo = {"tp": tp, "sequence_parallel": sp, "precision": precision}
    fused, eager = passes(model, tokens, **lo), passes(model, tokens, fused_elementwise=False, **lo)
    assert set(fused) == set(eager)
    for name, (nbytes, kernels) in fused.items():
        assert 0 < nbytes <= eager[name][0] and 1 <= kernels <= eager[name][1]


def test_context_parallel_attention_reads_the_kernel_at_the_chunk_length() -> None:
    # Llama 3 8B, 6,000 tokens over CP 2: each rank's 3,000 queries against all 6,000 keys, 32
    # heads of 128, half the blocks masked; cuDNN's throughput log-interpolated at 3,000
    # between the profile's 2,048 and 4,096 points
    llama = load_model("llama3-8b")
    flops = 2 * 32 * 3000 * 6000 * (128 + 128) / 2
    frac = math.log(3000 / 2048) / math.log(2)

    def at(curve: str) -> float:
        c = H100.attention_kernels[curve]
        lo, hi = c.ys[c.xs.index(2048.0)], c.ys[c.xs.index(4096.0)]
        return (lo + frac * (hi - lo)) * 1e12

    lo = Layout(seq=6000, cp=2, attention_kernel="cudnn")
    fwd, bwd = attention_time(llama, lo, H100)
    assert fwd == pytest.approx(flops / at("cudnn_fwd"))
    assert bwd == pytest.approx(2.5 * flops / at("cudnn_bwd"))
    # fp8 training keeps attention in bf16: the same kernel, the same time
    assert attention_time(llama, Layout(seq=6000, cp=2, attention_kernel="cudnn",
                                        precision="fp8"), H100) == (fwd, bwd)


def test_embedding_lookup_and_its_gradient_are_memory_bound() -> None:
    from exabench.analysis.planner.compute import embedding_time

    llama = load_model("llama3-8b")
    lo = Layout(seq=8192, mbs=2)
    elements = 2 * 8192 * 4096
    fwd, bwd = embedding_time(llama, lo, H100)
    # lookup: read and write bf16 (4 bytes per element); backward: read the bf16 gradient and
    # add it into the fp32 table rows (2 + 4 + 4)
    assert fwd == pytest.approx(4 * elements / H100.hbm_bytes_per_s(4 * elements))
    assert bwd == pytest.approx(10 * elements / H100.hbm_bytes_per_s(10 * elements))
    # sequence parallelism splits the tokens over the TP ranks
    sp = embedding_time(llama, Layout(seq=8192, mbs=2, tp=8), H100)[0]
    assert sp == pytest.approx(4 * elements / 8 / H100.hbm_bytes_per_s(4 * elements / 8))
