"""Compute time of one transformer layer for one micro-batch on one GPU, kernel by kernel.

A layer is the list of kernels a framework launches for it (:func:`layer_ops`), each priced
by :mod:`kernels`:

- every GEMM at its real shape on one TP rank (Megatron layout: QKV and MLP-up split their
  outputs, attention-out and MLP-down their inputs), forward, dgrad ``(M,K,N)`` and wgrad
  ``(K,N,M)``, with tile-wave quantization over the SMs and the HBM roofline;
- fused attention, forward and backward separately, at the chosen kernel's measured throughput
  (FA2, FA3, cuDNN), or unfused as batched GEMMs plus softmax/dropout passes over the scores;
- memory-bound passes (:func:`memory_passes`): norms, residual adds, dropout, the activation
  function, rotary embeddings, fp8 casts and transposes, MoE permutes;
- a launch cost per kernel (:func:`kernels.launch_time`), which only matters for small layers.

fp8 (Transformer Engine): the layer GEMMs on the profile's fp8 curve; attention, the
memory-bound work and the output layer stay in bf16. The backward of a memory-bound pass
moves about twice the forward's bytes (it reads the saved input and the incoming gradient,
and writes the outgoing one).
"""

from __future__ import annotations

import functools
import statistics
from dataclasses import dataclass

from exabench.analysis.planner.flops import attention_dims, padded_vocab
from exabench.analysis.planner.kernels import (
    BF16,
    attention_flops,
    fused_attention_time,
    gemm_time,
    launch_time,
    memory_time,
)
from exabench.analysis.planner.layout import Layout
from exabench.workloads.models import ModelSpec
from exabench.workloads.profile import HardwareProfile


@dataclass(frozen=True)
class Op:
    """One kernel (or one group of identical kernels) of a layer, forward and backward."""

    name: str
    kind: str
    """``gemm``, ``attention`` or ``memory``."""
    fwd: float
    bwd: float
    kernels: int = 1
    """Kernel launches forward (the backward launches about twice as many)."""


@dataclass(frozen=True)
class LayerTime:
    """Seconds on one GPU for one micro-batch through one layer."""

    gemm_fwd: float
    gemm_bwd: float
    attn_fwd: float
    attn_bwd: float
    elem_fwd: float
    elem_bwd: float
    launch_fwd: float = 0.0
    launch_bwd: float = 0.0
    ops: tuple[Op, ...] = ()

    @property
    def fwd(self) -> float:
        return self.gemm_fwd + self.attn_fwd + self.elem_fwd + self.launch_fwd

    @property
    def bwd(self) -> float:
        return self.gemm_bwd + self.attn_bwd + self.elem_bwd + self.launch_bwd


GEMM_NAMES = ("qkv", "attn_out", "mlp_up", "mlp_down")
"""Names of a dense layer's four GEMMs, in :func:`layer_gemms` order (MLA and MoE differ)."""


def layer_gemms(
    model: ModelSpec, moe_layer: bool, tokens: int, tp: int, ep: int, moe_load: float = 1.0
) -> list[tuple[float, float, float, int]]:
    """``(M, N, K, count)`` of the forward GEMMs of one layer on one TP rank; an expert GEMM
    sees its balanced share of the routed tokens times ``moe_load`` (the busiest expert)."""
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
    per_expert = tokens * moe.top_k * ep / moe.experts * moe_load
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


EAGER_NORM = 36
"""Bytes per hidden element of a norm composed of eager PyTorch ops (upcast to fp32, square,
mean, rsqrt-multiply, downcast, weight multiply: ``2+4 + 4+4 + 4 + 4+4 + 4+2 + 2+2``), against
4 for a fused kernel (read and write bf16)."""
EAGER_ROPE = 20
"""Bytes per Q/K element of eager rotary embeddings (upcast, complex multiply, downcast:
``2+4 + 4+4 + 4+2``), against 4 fused."""


def memory_passes(model: ModelSpec, moe_layer: bool, tokens: int, lo: Layout
                  ) -> list[tuple[str, float, int]]:
    """``(name, forward HBM bytes, kernels)`` of one layer's memory-bound passes on one rank.

    Per token, with ``h`` the hidden size and ``f`` the MLP width on this rank, fused
    (``fused_elementwise``: Transformer Engine, apex, torch.compile) / eager:

    - norm: read and write ``2h`` bytes, 4h / :data:`EAGER_NORM` h in 7 kernels;
    - residual add: two ``2h`` inputs, one output (6h), dropout adds its mask (h) when the
      model has dropout; eager, dropout is a pass of its own (5h more);
    - activation: gated reads ``2f`` and writes ``f`` elements (6f bytes), eager the
      activation and the product are two kernels (10f); plain: 4f, eager 8f (bias add);
    - rotary: read and write Q and K, 4 bytes per element, eager :data:`EAGER_ROPE`;
    - fp8 casts: an fp8 GEMM input is cast (read 2, write 1 byte) and transposed for the
      backward (write 1): 4 bytes per element for the attention-out and MLP-down inputs, and 2
      for QKV and MLP-up, whose casts Transformer Engine fuses into the norm before them.

    Tokens are split over TP ranks with sequence parallelism.
    """
    h, tp, fused = model.hidden, lo.tp, lo.fused_elementwise
    sp_tokens = tokens / tp if lo.sequence_parallel else tokens
    mask = 1 if model.dropout else 0
    # eager: the add (6h) and, with dropout, its own pass (read 2, write 2, mask 1)
    residual = (6 + mask) * h if fused else (6 + 5 * mask) * h
    out = [("norms", sp_tokens * 2 * (4 if fused else EAGER_NORM) * h, 2 if fused else 14),
           ("residuals", sp_tokens * 2 * residual, 2 if fused or not mask else 4)]
    if model.position == "rope" and model.mla is None:
        qk = (model.heads + max(model.kv_heads, tp)) * model.head_dim / tp
        out.append(("rotary", tokens * qk * (4 if fused else EAGER_ROPE), 1 if fused else 6))
    if moe_layer:
        moe = model.moe
        assert moe is not None
        width = moe.expert_ffn_hidden * (moe.top_k + moe.shared_experts) / tp
        out.append(("moe_permute", 4 * tokens * moe.top_k * h * BF16, 4))
    else:
        width = model.ffn_hidden / tp
    if model.gated:
        act, kernels = (6 if fused else 10) * width, 1 if fused else 2
    else:
        act, kernels = (4 if fused else 8) * width, 1 if fused else 2
    out.append(("activation", tokens * act, kernels))
    if lo.precision == "fp8":
        q_width = model.heads * attention_dims(model)[1] / tp
        out.append(("fp8_casts", tokens * (4 * (q_width + width) + 2 * 2 * h), 4))
    return out


def layer_time(
    model: ModelSpec, moe_layer: bool, lo: Layout, profile: HardwareProfile
) -> LayerTime:
    """Every kernel of one layer, priced; the launch cost of the lot on top."""
    return summarize(layer_ops(model, moe_layer, lo, profile), lo.cuda_graphs)


def layer_ops(model: ModelSpec, moe_layer: bool, lo: Layout, profile: HardwareProfile
              ) -> tuple[Op, ...]:
    """The kernels of one layer for one micro-batch on one GPU, forward and backward."""
    tokens = lo.mbs * lo.seq // lo.cp
    prec = lo.precision
    shapes = layer_gemms(model, moe_layer, tokens, lo.tp, lo.ep, lo.moe_load)
    names = _gemm_names(model, moe_layer, len(shapes))
    ops = []
    # With TP communication overlapped (userbuffers, async TP) the GEMMs next to a collective
    # run in tp chunks of M / tp rows, each chunk's GEMM smaller (less efficient) than the whole.
    chunks = lo.tp if lo.tp_comm_overlap and lo.tp > 1 else 1
    for name, (m, n, k, count) in zip(names, shapes, strict=True):
        # A MoE layer's local experts run as one grouped GEMM (their tiles share the waves).
        split = chunks if name in GEMM_NAMES else 1
        fwd = split * gemm_time(profile, prec, m / split, n, k, count)
        bwd = (split * gemm_time(profile, prec, m / split, k, n, count)
               + gemm_time(profile, prec, k, n, m, count))
        ops.append(Op(name, "gemm", fwd, bwd, kernels=split))
    attn_fwd, attn_bwd = attention_time(model, lo, profile)
    ops.append(Op("attention", "attention", attn_fwd, attn_bwd,
                  kernels=1 if lo.fused_attention else 4))
    for name, nbytes, kernels in memory_passes(model, moe_layer, tokens, lo):
        t = memory_time(profile, nbytes, kernels)
        ops.append(Op(name, "memory", t, 2 * t, kernels=kernels))
    return tuple(ops)


def summarize(ops: tuple[Op, ...], cuda_graphs: bool) -> LayerTime:
    """A layer's time by kind, and what its launches add (the backward launches twice the
    forward's kernels)."""
    by = {(kind, d): sum(getattr(o, d) for o in ops if o.kind == kind)
          for kind in ("gemm", "attention", "memory") for d in ("fwd", "bwd")}
    kernels = sum(o.kernels for o in ops)
    busy_fwd = sum(o.fwd for o in ops)
    busy_bwd = sum(o.bwd for o in ops)
    return LayerTime(
        gemm_fwd=by["gemm", "fwd"], gemm_bwd=by["gemm", "bwd"],
        attn_fwd=by["attention", "fwd"], attn_bwd=by["attention", "bwd"],
        elem_fwd=by["memory", "fwd"], elem_bwd=by["memory", "bwd"],
        launch_fwd=launch_time(kernels, busy_fwd, cuda_graphs),
        launch_bwd=launch_time(2 * kernels, busy_bwd, cuda_graphs),
        ops=ops,
    )


def _gemm_names(model: ModelSpec, moe_layer: bool, count: int) -> list[str]:
    """Names for :func:`layer_gemms`' shapes, in order."""
    attn = (["q_down", "q_up", "kv_down", "kv_up", "attn_out"] if model.mla is not None
            else ["qkv", "attn_out"])
    if not moe_layer:
        mlp = ["mlp_up", "mlp_down"]
    else:
        mlp = ["router", "expert_up", "expert_down"]
        if model.moe is not None and model.moe.shared_experts:
            mlp += ["shared_up", "shared_down"]
    names = attn + mlp
    assert len(names) == count, (names, count)
    return names


def attention_time(model: ModelSpec, lo: Layout, profile: HardwareProfile) -> tuple[float, float]:
    """(forward, backward) seconds of QK^T, softmax and AV for one micro-batch on one rank.

    Fused: :func:`kernels.fused_attention_time` at the layout's kernel. With CP a rank holds
    ``s / cp`` queries against the whole sequence's keys (the causal work balanced over the
    ranks, as Megatron's CP splits the sequence in 2 cp chunks); the kernel's throughput is
    read at the chunk length ``s / cp``. Unfused (Megatron 2021-22): batched GEMMs for QK^T
    and AV plus the scale/mask/softmax (read 2, write 2 bytes per score) and dropout (read 2,
    write 2, mask 1) passes over the ``s x s`` scores, all of them, mask or not.
    """
    qk, v = attention_dims(model)
    heads = model.heads / lo.tp
    sq, sk = lo.seq / lo.cp, lo.seq
    half = "bf16" if lo.precision == "fp8" else lo.precision
    if lo.fused_attention:
        flops = attention_flops(lo.mbs * heads, sq, sk, qk, v)
        return fused_attention_time(profile, lo.attention_kernel, half, flops, sq)
    batch = lo.mbs * heads
    scores = batch * sq * sk
    nb = max(1, round(batch))
    fwd = gemm_time(profile, half, sq, sk, qk, nb) + gemm_time(profile, half, sq, v, sk, nb)
    bwd = 2 * fwd
    fwd_bytes, bwd_bytes = 9.0 * scores, 11.0 * scores
    fwd += memory_time(profile, fwd_bytes, 3)
    bwd += memory_time(profile, bwd_bytes, 3)
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


def embedding_time(model: ModelSpec, lo: Layout, profile: HardwareProfile
                   ) -> tuple[float, float]:
    """(forward, backward) of the input embedding on the first stage, memory-bound: the lookup
    reads and writes each token's ``h`` bf16 values (4 bytes per element); the backward reads
    the incoming gradient (2) and adds it into the fp32 gradient of the table's rows (read and
    write, 8)."""
    elements = lo.mbs * lo.seq / lo.cp * model.hidden / (lo.tp if lo.sequence_parallel else 1)
    return (memory_time(profile, 4.0 * elements), memory_time(profile, 10.0 * elements))


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
