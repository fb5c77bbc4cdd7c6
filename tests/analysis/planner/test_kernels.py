"""The price of one kernel (analysis/planner/kernels.py), hand-computed from the H100 profile.

The profile's data (workloads/hardware/h100-sxm.toml) is read by name below, not through the
code under test: the bf16 dense peak (989.4 TFLOP/s), the GEMM curve's plateau (its value from
128 GFLOP on), 132 SMs, the HBM bandwidth (3,350 GB/s) and its efficiency from 100 MB per kernel
on and at 10 MB, and the fused-attention TFLOP/s at the 2,048 and 4,096 curve points.
"""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exabench.analysis.planner.kernels import (
    HOST_LAUNCH_S,
    KERNEL_GAP_S,
    OFF_OPTIMUM_SHAPE,
    TILE,
    attention_flops,
    fused_attention_time,
    gemm_time,
    launch_time,
    memory_time,
    tile_waves,
)
from exabench.workloads.profile import load_reference

H100 = load_reference("h100-sxm")
PEAK = H100.peaks.peak("bf16") * 1e12
PLATEAU = H100.gemm["bf16"].plateau
"""bf16 GEMM efficiency from the curve's last point (128 GFLOP) on."""
TUNED = PLATEAU / 0.85  # the curve's plateau without its off-optimum-shape discount
HBM = H100.peaks.hbm_bandwidth_gbps * 1e9
HBM_BIG = H100.hbm.plateau
"""HBM efficiency of a kernel moving >= 100 MB (the curve's last point)."""
HBM_10MB = H100.hbm.ys[H100.hbm.xs.index(10.0)]


def point(curve: str, seq: int) -> float:
    """The profile's attention TFLOP/s of ``curve`` at the curve point ``seq``."""
    c = H100.attention_kernels[curve]
    return c.ys[c.xs.index(float(seq))]


def test_the_constants_are_the_documented_ones() -> None:
    assert H100.sms == 132 and TILE == (128, 256) and OFF_OPTIMUM_SHAPE == 0.85
    assert PEAK == 989.4e12 and HBM == 3350e9 and H100.gemm["bf16"].xs[-1] == 128.0
    assert KERNEL_GAP_S == 2e-6 and HOST_LAUNCH_S == 8e-6


def test_a_last_wave_a_quarter_full_costs_a_full_wave() -> None:
    # 1,920 x 2,816 in 128 x 256 tiles: 15 x 11 = 165 = 132 + 33 tiles, so two waves of 132;
    # the other orientation (256 x 128) needs 8 x 22 = 176 tiles, also two waves.
    m, n, k = 1920, 2816, 16384
    assert (15 * 11, 8 * 22) == (132 + 132 // 4, 176)
    assert tile_waves(H100, m, n) == (2, 128 * 256)
    # wave bound: 2 waves x 132 SMs, each SM doing 2 x 128 x 256 x K at the tuned efficiency
    waves = 2 * 132 * 2 * 128 * 256 * k / (PEAK * TUNED)
    # curve bound: 2MNK = 177 GFLOP is past the 128 GFLOP plateau point
    curve = 2 * m * n * k / (PEAK * PLATEAU)
    # HBM bound: bf16 A, B and C, 166 MB at HBM_BIG of 3,350 GB/s
    hbm = ((m * k + k * n) * 2 + m * n * 2) / (HBM * HBM_BIG)
    assert waves / curve == pytest.approx(264 / 165 * 0.85)  # 1.36: the waves bind
    assert hbm < curve < waves
    assert gemm_time(H100, "bf16", m, n, k) == pytest.approx(waves)


def test_a_gemm_that_fills_its_waves_exactly_runs_on_the_curve() -> None:
    # 1,536 x 2,816: 12 x 11 = 132 tiles, one full wave; the wave bound is then 0.85 x the
    # curve's, and the curve (the shape discount) binds.
    m, n, k = 1536, 2816, 16384
    assert tile_waves(H100, m, n) == (1, 128 * 256)
    curve = 2 * m * n * k / (PEAK * PLATEAU)
    assert gemm_time(H100, "bf16", m, n, k) == pytest.approx(curve)


def test_a_batched_gemm_shares_its_waves() -> None:
    # one 1,664 x 2,816 GEMM: 13 x 11 = 143 tiles, a wave and a twelfth that costs two (1.57 x
    # its curve time); three of them in one batched kernel: 429 tiles, 4 waves (3.25 used).
    m, n, k = 1664, 2816, 16384
    two_waves = 2 * 132 * 2 * 128 * 256 * k / (PEAK * TUNED)
    single_curve = 2 * m * n * k / (PEAK * PLATEAU)  # 153.5 GFLOP: on the plateau
    assert two_waves / single_curve == pytest.approx(2 * 132 * 128 * 256 * 0.85 / (m * n))
    assert gemm_time(H100, "bf16", m, n, k) == pytest.approx(two_waves)
    assert tile_waves(H100, m, n, batch=3) == (4, 128 * 256)
    batched = gemm_time(H100, "bf16", m, n, k, batch=3)
    assert batched == pytest.approx(4 * 132 * 2 * 128 * 256 * k / (PEAK * TUNED))
    assert batched < 3 * gemm_time(H100, "bf16", m, n, k)


def test_under_one_wave_of_tiles_the_k_dimension_is_split_instead() -> None:
    # 384 x 2,816: 3 x 11 = 33 tiles, a quarter of the SMs: the library splits K (split-K /
    # stream-K) to fill them, so no wave bound: the curve prices it
    m, n, k = 384, 2816, 65536
    assert gemm_time(H100, "bf16", m, n, k) == pytest.approx(2 * m * n * k / (PEAK * PLATEAU))


def test_without_an_sm_count_there_is_no_wave_bound() -> None:
    m, n, k = 1920, 2816, 16384
    no_sms = replace(H100, sms=0)
    assert gemm_time(no_sms, "bf16", m, n, k) == pytest.approx(2 * m * n * k / (PEAK * PLATEAU))


def test_a_skinny_gemm_is_hbm_bound_and_an_empty_one_is_free() -> None:
    # 1 x 32,768 x 8,192: 128 tiles (one wave, 1/128 of each used); the 512 MiB weight read
    # once (bf16) takes longer than the wave
    m, n, k = 1, 32768, 8192
    nbytes = (m * k + k * n) * 2 + m * n * 2
    wave = 132 * 2 * 128 * 256 * k / (PEAK * TUNED)
    assert nbytes / (HBM * HBM_BIG) > wave
    assert gemm_time(H100, "bf16", m, n, k) == pytest.approx(nbytes / (HBM * HBM_BIG))
    # fp8: 1-byte inputs, bf16 output
    nbytes8 = (m * k + k * n) * 1 + m * n * 2
    assert nbytes8 / (HBM * HBM_BIG) > 132 * 2 * 128 * 256 * k / (
        H100.peak_flops("fp8") * H100.gemm["fp8"].plateau / 0.85)
    assert gemm_time(H100, "fp8", m, n, k) == pytest.approx(nbytes8 / (HBM * HBM_BIG))
    assert gemm_time(H100, "bf16", 0, 8192, 8192) == 0.0


def test_a_one_row_gemm_is_priced_by_its_weight_read() -> None:
    # 1 x 8,192: 32 tiles, under one wave: split over K, no wave bound; reading the 128 MiB
    # weight from HBM is the slowest bound left
    k = 8192
    nbytes = (k + k * 8192) * 2 + 8192 * 2
    curve = 2 * 8192 * k / (PEAK * H100.gemm_efficiency("bf16", 2 * 8192 * k))
    expected = max(curve, nbytes / H100.hbm_bytes_per_s(nbytes))
    assert gemm_time(H100, "bf16", 1, 8192, k) == pytest.approx(expected)


def test_attention_flops_halve_the_causal_scores() -> None:
    # 2 x (b h) x sq x sk x (d_qk + d_v), half of the blocks masked
    assert attention_flops(32, 8192, 8192, 128, 128) == 2 * 32 * 8192 * 8192 * 256 / 2
    assert attention_flops(1, 3, 5, 7, 11) == 3 * 5 * 18


SQRT2_SEQ = 2048 * math.sqrt(2)
"""Half-way between the 2,048 and 4,096 curve points in log size: the interpolation is the
plain mean of the two values."""


@pytest.mark.parametrize("kernel", ["cudnn", "fa3", "fa2"])
def test_fused_attention_between_two_curve_points(kernel: str) -> None:
    fwd_tflops = (point(f"{kernel}_fwd", 2048) + point(f"{kernel}_fwd", 4096)) / 2
    bwd_tflops = (point(f"{kernel}_bwd", 2048) + point(f"{kernel}_bwd", 4096)) / 2
    flops = 1e12
    fwd, bwd = fused_attention_time(H100, kernel, "bf16", flops, SQRT2_SEQ)
    assert fwd == pytest.approx(flops / (fwd_tflops * 1e12))
    assert bwd == pytest.approx(2.5 * flops / (bwd_tflops * 1e12))  # five matmuls to two


def test_fused_attention_at_an_unaligned_sequence() -> None:
    # 3,000 tokens: log-interpolated 0.551 of the way from 2,048 to 4,096
    frac = math.log(3000 / 2048) / math.log(4096 / 2048)
    assert 0.55 < frac < 0.552
    flops = 5e11
    fwd, bwd = fused_attention_time(H100, "cudnn", "bf16", flops, 3000)
    lo_f, hi_f = point("cudnn_fwd", 2048), point("cudnn_fwd", 4096)
    lo_b, hi_b = point("cudnn_bwd", 2048), point("cudnn_bwd", 4096)
    assert fwd == pytest.approx(flops / ((lo_f + frac * (hi_f - lo_f)) * 1e12))
    assert bwd == pytest.approx(2.5 * flops / ((lo_b + frac * (hi_b - lo_b)) * 1e12))
    # beyond the last point (16k) the last value holds
    fwd, bwd = fused_attention_time(H100, "fa3", "bf16", flops, 131072)
    assert (fwd, bwd) == pytest.approx((flops / (point("fa3_fwd", 16384) * 1e12),
                                        2.5 * flops / (point("fa3_bwd", 16384) * 1e12)))


def test_fused_attention_without_kernel_curves_uses_the_single_efficiency() -> None:
    flops = 1e12
    bare = replace(H100, attention_kernels={})
    rate = PEAK * H100.attention["bf16"]  # [attention_efficiency] bf16: 0.35, FA2 on an H100
    assert fused_attention_time(bare, "fa3", "bf16", flops, 4096) == pytest.approx(
        (flops / rate, 2.5 * flops / rate))
    # a kernel with a forward curve but no backward one falls back too
    half = replace(H100, attention_kernels={"fa3_fwd": H100.attention_kernels["fa3_fwd"]})
    assert fused_attention_time(half, "fa3", "bf16", flops, 4096) == pytest.approx(
        (flops / rate, 2.5 * flops / rate))


def test_memory_time_reads_the_efficiency_at_each_kernel_s_size() -> None:
    # 100 MB in one pass: the large-kernel efficiency; the same bytes in ten 10 MB passes: the
    # 10 MB point's
    assert memory_time(H100, 1e8) == pytest.approx(1e8 / (HBM * HBM_BIG))
    assert memory_time(H100, 1e8, kernels=10) == pytest.approx(1e8 / (HBM * HBM_10MB))
    assert memory_time(H100, 0.0) == 0.0 and memory_time(H100, 1e8, kernels=0) == memory_time(
        H100, 1e8)


def test_launch_time_host_bound_gpu_bound_and_cuda_graphs() -> None:
    # 10 kernels that keep the GPU busy 20 us: the host needs 10 x 8 = 80 us to issue them,
    # so the GPU waits 60 us; the GPU-side gaps alone would be 10 x 2 = 20 us.
    assert launch_time(10, 20e-6, cuda_graphs=False) == pytest.approx(80e-6 - 20e-6)
    # busy 1 ms: the host runs ahead; only the gaps between dependent kernels remain
    assert launch_time(10, 1e-3, cuda_graphs=False) == pytest.approx(10 * 2e-6)
    # CUDA graphs: no host term however short the kernels
    assert launch_time(10, 0.0, cuda_graphs=True) == pytest.approx(10 * 2e-6)
    assert launch_time(0, 0.0, cuda_graphs=False) == 0.0


DIMS = st.integers(1, 1 << 15)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(m=DIMS, n=DIMS, k=DIMS, batch=st.integers(1, 16),
       precision=st.sampled_from(["bf16", "fp8"]))
def test_gemm_time_bounds_and_batching(m: int, n: int, k: int, batch: int, precision: str) -> None:
    """Never faster than the tuned rate over the whole output or than the curve; a batched
    kernel never costs more than its GEMMs run one by one."""
    t = gemm_time(H100, precision, m, n, k, batch)
    peak = H100.peak_flops(precision)
    flops = 2.0 * m * n * k * batch
    tuned = H100.gemm[precision].plateau / OFF_OPTIMUM_SHAPE
    assert t >= flops / (peak * tuned) * (1 - 1e-12)
    assert t >= flops / (peak * H100.gemm_efficiency(precision, flops)) * (1 - 1e-12)
    assert t <= batch * gemm_time(H100, precision, m, n, k) * (1 + 1e-12)
    waves, tile = tile_waves(H100, m, n, batch)
    assert tile == 128 * 256 and waves * H100.sms >= batch * m * n / tile


@settings(max_examples=40, deadline=None, derandomize=True)
@given(kernels=st.integers(0, 500), busy=st.floats(0, 1e-2),
       graphs=st.booleans())
def test_launch_time_is_at_least_the_gpu_gaps(kernels: int, busy: float, graphs: bool) -> None:
    t = launch_time(kernels, busy, graphs)
    assert t >= kernels * KERNEL_GAP_S * (1 - 1e-12)
    assert t <= kernels * HOST_LAUNCH_S * (1 + 1e-12)
    assert launch_time(kernels, busy, True) <= launch_time(kernels, busy, False)
