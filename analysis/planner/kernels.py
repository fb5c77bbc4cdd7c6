"""The price of one kernel: a GEMM, a fused attention, or a memory-bound pass.

- **GEMM** ``(M x K) @ (K x N)``: the slowest of three bounds::

      curve  = 2MNK / (peak * eff(2MNK))                  the profile's efficiency by size
      waves  = ceil(tiles / SMs) * SMs * 2 * TM * TN * K / (peak * plateau / 0.85)
      memory = bytes moved / (HBM bandwidth * eff(bytes))

  ``tiles = ceil(M / TM) * ceil(N / TN)`` output tiles of ``TM x TN`` run in waves over the
  SMs, one tile per SM at a time: a last wave a quarter full costs a full wave, and a ragged
  edge tile costs a whole tile, each tile at the tuned shape's efficiency (the curve's plateau
  without its 0.85 off-optimum discount, :data:`OFF_OPTIMUM_SHAPE`). The tile is 128 x 256 (or
  256 x 128, whichever needs fewer waves), a common CTA tile of large bf16/fp8 GEMMs (assumed:
  the library chooses per shape).
  The wave bound binds when quantization costs more than the curve's 15 % shape discount.
  Under one full wave of tiles (a skinny GEMM) the library splits K to fill the SMs instead,
  and only the curve and HBM bounds apply.
- **Fused attention** (flash): the causal mask skips half the score blocks, so the FLOPs are
  ``2 b h s_q s_k (d_qk + d_v) / 2`` forward and 2.5 times that backward (five matmuls to
  two; Dao, FlashAttention-2, arXiv 2307.08691, section 3) -- the convention flash-attention's
  own benchmarks use. Each pass runs at the profile's measured throughput of that kernel
  (``fa2``, ``fa3``, ``cudnn``) at the sequence length; a profile without kernel curves uses its
  single ``attention_efficiency`` for both passes.
- **Memory-bound** work (norms, activations, residual adds, casts): bytes over the HBM
  bandwidth at the efficiency a kernel of that size reaches.
- **Launch**: every kernel costs ``KERNEL_GAP_S`` on the GPU between dependent kernels, and
  in eager mode the host must issue each one (``HOST_LAUNCH_S``): a layer whose kernels are
  shorter than the host's dispatch waits for the host. CUDA graphs remove the host term.
"""

from __future__ import annotations

import math

from exabench.workloads.profile import HardwareProfile

BF16 = 2
"""Bytes per bf16/fp16 element."""
OFF_OPTIMUM_SHAPE = 0.85
"""A layer's GEMMs are not the tuned best shape: a sweep off the optimum gives ~80-90 % of the
maximum achievable matmul FLOP/s (stas00/ml-engineering@744d01e
compute/accelerator/benchmarks/mamf-finder.py). The profiles' GEMM curves carry this factor;
the tile-wave bound divides it back out, since the waves are the shape effect made explicit."""
TILE = (128, 256)
"""Output tile (rows, columns) of one CTA of a large Hopper/Ampere GEMM (assumed; see above)."""
KERNEL_GAP_S = 2e-6
"""GPU time between two dependent kernels (launch latency, ramp-up and tail of a grid):
about 2 us on Hopper (assumed; the order of magnitude of an empty-kernel launch)."""
HOST_LAUNCH_S = 8e-6
"""Host time to issue one kernel from eager PyTorch (Python, dispatcher, autograd, driver):
5 to 25 us per op by PyTorch's own accounting; 8 us assumed. CUDA graphs remove it."""


def tile_waves(profile: HardwareProfile, m: float, n: float, batch: int = 1
               ) -> tuple[float, float]:
    """(waves, output elements per tile) of the better tile orientation: the ``batch``
    outputs of ``M x N`` cut in tiles, the tiles run ``profile.sms`` at a time."""
    best = (math.inf, 0.0)
    for tm, tn in (TILE, TILE[::-1]):
        tiles = batch * math.ceil(m / tm) * math.ceil(n / tn)
        waves = math.ceil(tiles / profile.sms)
        if waves < best[0]:
            best = (waves, float(tm * tn))
    return best


def gemm_time(profile: HardwareProfile, precision: str, m: float, n: float, k: float,
              batch: int = 1) -> float:
    """Seconds for one GEMM, or one batched/grouped kernel of ``batch`` equal GEMMs (their
    tiles share the waves): the slowest of the curve, the tile waves and the HBM bytes."""
    if m <= 0 or n <= 0 or k <= 0:
        return 0.0
    flops = 2.0 * m * n * k * batch
    peak = profile.peak_flops(precision)
    curve = flops / (peak * profile.gemm_efficiency(precision, flops))
    waves = 0.0
    if profile.sms and batch * math.ceil(m / TILE[0]) * math.ceil(n / TILE[1]) >= profile.sms:
        # under one wave of tiles the library splits K (split-K / stream-K) to fill the SMs
        count, tile = tile_waves(profile, m, n, batch)
        curve_plateau = profile.gemm[precision if precision in profile.gemm else "bf16"].plateau
        best = curve_plateau / OFF_OPTIMUM_SHAPE  # the tuned shape's efficiency (MAMF)
        waves = count * profile.sms * 2.0 * tile * k / (peak * best)
    nbytes = batch * ((m * k + k * n) * (1 if precision == "fp8" else BF16) + m * n * BF16)
    return max(curve, waves, nbytes / profile.hbm_bytes_per_s(nbytes))


def attention_flops(batch_heads: float, sq: float, sk: float, d_qk: float, d_v: float) -> float:
    """Forward FLOPs of causal attention, the masked half skipped: ``2 bh sq sk (dqk + dv) / 2``."""
    return 2.0 * batch_heads * sq * sk * (d_qk + d_v) * 0.5


def fused_attention_time(profile: HardwareProfile, kernel: str, precision: str, flops: float,
                         seq: float) -> tuple[float, float]:
    """(forward, backward) seconds of a fused attention of ``flops`` forward FLOPs (backward
    2.5 x), at the kernel's measured throughput for the sequence length ``seq``."""
    fwd_curve = profile.attention_kernels.get(f"{kernel}_fwd")
    bwd_curve = profile.attention_kernels.get(f"{kernel}_bwd")
    if fwd_curve is not None and bwd_curve is not None:
        return flops / (fwd_curve(seq) * 1e12), 2.5 * flops / (bwd_curve(seq) * 1e12)
    rate = profile.peak_flops(precision) * profile.attention.get(
        precision, profile.attention.get("bf16", 0.35))
    return flops / rate, 2.5 * flops / rate


def memory_time(profile: HardwareProfile, nbytes: float, kernels: int = 1) -> float:
    """Seconds to stream ``nbytes`` through HBM in ``kernels`` passes of equal size."""
    if nbytes <= 0:
        return 0.0
    return nbytes / profile.hbm_bytes_per_s(nbytes / max(1, kernels))


def launch_time(kernels: int, busy_s: float, cuda_graphs: bool) -> float:
    """Seconds the launches add to ``kernels`` kernels that keep the GPU busy ``busy_s``: the
    GPU-side gap of each, or, in eager mode, the wait for a host slower than the GPU."""
    gpu = kernels * KERNEL_GAP_S
    if cuda_graphs:
        return gpu
    return max(gpu, kernels * HOST_LAUNCH_S - busy_s)
