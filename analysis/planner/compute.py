"""Compute time of one transformer layer for one micro-batch on one GPU, from the profile's curves.

- Every GEMM of the layer at its real shape on one TP rank (Megatron layout: QKV and MLP-up
  split their outputs, attention-out and MLP-down their inputs), forward, dgrad ``(M,K,N)`` and
  wgrad ``(K,N,M)``, each at the profile's efficiency for its size, and never faster than its
  bytes allow (roofline against HBM): ``t = max(2MNK / (peak eff(MNK)), bytes / (HBM eff))``.
- Attention core: fused (flash) at the profile's attention efficiency, the causal mask skipping
  half the work, backward 2.5x the forward FLOPs (the FlashAttention papers' count); or unfused
  as batched GEMMs plus the softmax/dropout passes over the s x s scores from HBM (Megatron
  2021-22).
- Memory-bound work (norms, residual adds, dropout, activation function, MoE permutes) from HBM:
  bytes per token of each pass, at the HBM efficiency for its size.
- fp8 (Transformer Engine): the layer GEMMs in fp8 at the profile's fp8 curve; attention,
  elementwise work and the output layer stay in bf16.
"""

from __future__ import annotations

import functools
import statistics
from dataclasses import dataclass

from exabench.analysis.planner.flops import attention_dims, padded_vocab
from exabench.analysis.planner.layout import Layout
from exabench.workloads.models import ModelSpec
from exabench.workloads.profile import HardwareProfile

BF16 = 2  # bytes per activation element


@dataclass(frozen=True)
class LayerTime:
    """Seconds on one GPU for one micro-batch through one layer."""

    gemm_fwd: float
    gemm_bwd: float
    attn_fwd: float
    attn_bwd: float
    elem_fwd: float
    elem_bwd: float

    @property
    def fwd(self) -> float:
        return self.gemm_fwd + self.attn_fwd + self.elem_fwd

    @property
    def bwd(self) -> float:
        return self.gemm_bwd + self.attn_bwd + self.elem_bwd


def gemm_time(profile: HardwareProfile, precision: str, m: float, n: float, k: float) -> float:
    """One GEMM (M x K) @ (K x N): compute at the curve's efficiency, or HBM-bound if slower."""
    if m <= 0 or n <= 0 or k <= 0:
        return 0.0
    flops = 2.0 * m * n * k
    compute = flops / (profile.peak_flops(precision) * profile.gemm_efficiency(precision, flops))
    nbytes = (m * k + k * n) * (1 if precision == "fp8" else BF16) + m * n * BF16
    return max(compute, nbytes / profile.hbm_bytes_per_s(nbytes))


def layer_gemms(
    model: ModelSpec, moe_layer: bool, tokens: int, tp: int, ep: int
) -> list[tuple[float, float, float, int]]:
    """``(M, N, K, count)`` of the forward GEMMs of one layer on one TP rank."""
    h, g = model.hidden, (2 if model.gated else 1)
    out: list[tuple[float, float, float, int]] = []
    if model.mla is not None:
        a, heads = model.mla, model.heads / tp
        out += [
            (tokens, a.q_rank, h, 1),
            (tokens, heads * (a.nope_head_dim + a.rope_head_dim), a.q_rank, 1),
            (tokens, a.kv_rank + a.rope_head_dim, h, 1),
            (tokens, heads * (a.nope_head_dim + a.v_head_dim), a.kv_rank, 1),
            (tokens, h, heads * a.v_head_dim, 1),
        ]
    else:
        hd = model.head_dim
        kv = max(model.kv_heads, tp) / tp  # kv heads are replicated when tp exceeds them
        out += [
            (tokens, (model.heads / tp + 2 * kv) * hd, h, 1),
            (tokens, h, model.heads * hd / tp, 1),
        ]
    if not moe_layer:
        f = model.ffn_hidden
        return out + [(tokens, g * f / tp, h, 1), (tokens, h, f / tp, 1)]
    moe = model.moe
    assert moe is not None
    f = moe.expert_ffn_hidden
    local = moe.experts // ep
    per_expert = tokens * moe.top_k * ep / moe.experts  # balanced routing
    out += [
        (tokens, moe.experts, h, 1),
        (per_expert, g * f / tp, h, local),
        (per_expert, h, f / tp, local),
    ]
    if moe.shared_experts:
        out += [
            (tokens, g * f * moe.shared_experts / tp, h, 1),
            (tokens, h, f * moe.shared_experts / tp, 1),
        ]
    return out


def _elementwise_bytes(model: ModelSpec, moe_layer: bool, tokens: int, lo: Layout) -> float:
    """HBM bytes of the forward memory-bound passes of one layer on one rank."""
    h = model.hidden
    sp_tokens = tokens / lo.tp if lo.sequence_parallel else tokens
    # Two norms (read+write 2h each) and two residual adds with dropout (read 2h+2h, write 2h,
    # mask h).
    per_token = 2 * 4 * h + 2 * 7 * h
    total = sp_tokens * per_token * 1.0
    if moe_layer:
        moe = model.moe
        assert moe is not None
        f, routed = moe.expert_ffn_hidden, tokens * moe.top_k + tokens * moe.shared_experts
        total += (
            routed * (6 if model.gated else 4) * f / lo.tp + 4 * tokens * moe.top_k * h * BF16
        )  # act + permutes
    else:
        total += tokens * (6 if model.gated else 4) * model.ffn_hidden / lo.tp
    return total * (BF16 / 2)


def layer_time(
    model: ModelSpec, moe_layer: bool, lo: Layout, profile: HardwareProfile
) -> LayerTime:
    tokens = lo.mbs * lo.seq // lo.cp
    prec = lo.precision
    fwd = bwd = 0.0
    for m, n, k, count in layer_gemms(model, moe_layer, tokens, lo.tp, lo.ep):
        fwd += count * gemm_time(profile, prec, m, n, k)
        bwd += count * (gemm_time(profile, prec, m, k, n) + gemm_time(profile, prec, k, n, m))
    attn_fwd, attn_bwd = attention_time(model, lo, profile)
    elem = _elementwise_bytes(model, moe_layer, tokens, lo)
    elem_t = elem / profile.hbm_bytes_per_s(elem / 6)
    return LayerTime(
        gemm_fwd=fwd,
        gemm_bwd=bwd,
        attn_fwd=attn_fwd,
        attn_bwd=attn_bwd,
        elem_fwd=elem_t,
        elem_bwd=2 * elem_t,
    )


def attention_time(model: ModelSpec, lo: Layout, profile: HardwareProfile) -> tuple[float, float]:
    """(forward, backward) seconds of QK^T, softmax and AV for one micro-batch on one rank."""
    qk, v = attention_dims(model)
    heads = model.heads / lo.tp
    sq, sk = lo.seq / lo.cp, lo.seq
    half = "bf16" if lo.precision == "fp8" else lo.precision
    if lo.fused_attention:
        flops = (
            2.0 * lo.mbs * heads * sq * sk * (qk + v) * 0.5
        )  # causal: half the blocks are skipped
        rate = profile.peak_flops(half) * profile.attention.get(
            half, profile.attention.get("bf16", 0.35)
        )
        return flops / rate, 2.5 * flops / rate
    batch = lo.mbs * heads
    scores = batch * sq * sk
    fwd = batch * (gemm_time(profile, half, sq, sk, qk) + gemm_time(profile, half, sq, v, sk))
    bwd = 2 * fwd
    # Scale+mask+softmax (read 2, write 2 bytes) and dropout (read 2, write 2, mask 1) per score.
    fwd_bytes, bwd_bytes = 9.0 * scores, 11.0 * scores
    fwd += fwd_bytes / profile.hbm_bytes_per_s(fwd_bytes / 3)
    bwd += bwd_bytes / profile.hbm_bytes_per_s(bwd_bytes / 3)
    return fwd, bwd


def logits_time(model: ModelSpec, lo: Layout, profile: HardwareProfile) -> tuple[float, float]:
    """(forward, backward) of the output layer and the cross-entropy, on the last stage, in bf16."""
    tokens = lo.mbs * lo.seq // lo.cp
    vocab = padded_vocab(model.vocab, lo.tp) / lo.tp
    half = "bf16" if lo.precision == "fp8" else lo.precision
    fwd = gemm_time(profile, half, tokens, vocab, model.hidden)
    bwd = gemm_time(profile, half, tokens, model.hidden, vocab) + gemm_time(
        profile, half, model.hidden, vocab, tokens
    )
    ce = tokens * vocab * 4.0 * 3  # fp32 logits: softmax, loss, gradient passes
    return fwd + ce / profile.hbm_bytes_per_s(ce), bwd + ce / profile.hbm_bytes_per_s(ce)


def optimizer_time(local_params: float, profile: HardwareProfile) -> float:
    """Mixed-precision Adam is HBM-bound: read grad, master, m, v (16 B), write master, m, v,
    bf16 weight (14 B)."""
    nbytes = 30.0 * local_params
    return nbytes / profile.hbm_bytes_per_s(nbytes) if nbytes > 0 else 0.0


@functools.lru_cache(maxsize=256)
def straggler_factor(gpus: int, node_spread: float) -> float:
    """Compute-time multiplier for a synchronous job paced by its slowest GPU.

    Per-GPU throughput taken as normal with sigma = spread / 2.847 (the expected range of 8
    normal samples, so an 8-GPU node shows ``node_spread``); the slowest of N GPUs sits
    z_N sigma below the mean, z_N from Blom's approximation of the expected maximum,
    ``Phi^-1((N - 0.375) / (N + 0.25))``. One GPU: no penalty.
    """
    if gpus <= 1 or node_spread <= 0:
        return 1.0
    sigma = node_spread / 2.847
    z = statistics.NormalDist().inv_cdf((gpus - 0.375) / (gpus + 0.25))
    return 1.0 / (1.0 - sigma * z)
