from __future__ import annotations

import pytest

from exabench.analysis.planner.compute import (
    attention_time,
    gemm_time,
    layer_gemms,
    layer_time,
    straggler_factor,
)
from exabench.analysis.planner.layout import Layout
from exabench.workloads.models import load_model
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
