"""Memory per GPU: weights, gradients, optimizer states, activations, logits, and a stated margin.

- fp8 (Transformer Engine) adds a cached fp8 copy of each weight and its transpose (2 B).
- Mixed-precision Adam (Rajbhandari et al., ZeRO, arXiv 1910.02054): bf16 weights 2 B, fp32 main
  gradients 4 B (Megatron's default), fp32 master weights + Adam m and v 12 B per parameter.
  ZeRO-1 shards the optimizer states over the data-parallel ranks, ZeRO-2 also the gradients,
  ZeRO-3 also the weights (expert parameters over the expert-data-parallel ranks, dp x cp / ep).
- Activations per layer and micro-batch (Korthikanti et al. 2022, Table 2), generalised to
  grouped-query attention, gated MLPs, models without dropout, fp8's 1-byte GEMM-input cache
  and PyTorch's per-op checkpointing (:func:`layer_activation_bytes`).
- The first stage holds ``inflight_microbatches`` micro-batches (see pipeline.py); the last
  stage also holds one micro-batch of fp32 logits.
- HBM capacities are binary (80 GB HBM3 = 80 GiB; NVML reports 81,559 MiB for an H100).

Refusal: a layout is refused only when it needs more than the capacity with no margin at all
(``fits``); when the allocator's fragmentation margin pushes it over, the Plan keeps it and
says it is tight (``tight``), with the GiB it needs.
"""

from __future__ import annotations

import functools

from exabench.analysis.planner.flops import attention_params, mlp_params, padded_vocab
from exabench.analysis.planner.layout import Layout
from exabench.analysis.planner.pipeline import inflight_microbatches, stage_layers
from exabench.workloads.models import ModelSpec

GIB = 2**30
RESERVED_GIB = 2.5
"""Assumed: the CUDA context (~0.5 GiB), cuBLAS workspaces and NCCL's buffers (a few hundred MB
per communicator, several communicators per rank)."""
FRAGMENTATION = 0.05
"""Assumed margin for the caching allocator's fragmentation: 5 % of what the tensors need
(PyTorch's CUDA caching allocator rounds and splits blocks; ``expandable_segments`` shrinks
the loss). A layout over capacity only by this margin is tight, not refused."""
DEEPSPEED_MAX_LIVE_PARAMETERS = 1e9
"""ZeRO-3 keeps at most this many gathered parameters live (DeepSpeed configuration docs,
``stage3_max_live_parameters``, default 1e9); FSDP gathers whole blocks instead."""
FP8_WEIGHT_COPIES = 2
"""Bytes per weight Transformer Engine adds under fp8: the fp8 cast of the bf16 weight and its
transpose, cached from the first micro-batch of a step to the last (TE's ``is_first_microbatch``
weight caching) beside the bf16 weight and the fp32 master in the optimizer."""
FP8_ACTIVATION = 1
"""Bytes of a GEMM input Transformer Engine saves for the backward in fp8 (it keeps the cast
copy, not the bf16 one)."""


def layer_activation_bytes(
    model: ModelSpec, moe_layer: bool, lo: Layout, recompute: str | None = None
) -> float:
    """Activation bytes one layer keeps for one micro-batch on one GPU.

    In units of ``s b h`` (Korthikanti et al. 2022, Table 2), generalised: kept whole unless
    sequence parallel, the two norm inputs (4), the QKV and MLP-up inputs (2 each) and the two
    dropout masks (1 each, when the model has dropout); split by TP, Q (2), K and V
    (4 x kv_heads / heads), the attention output (2), the MLP activation's input(s) and output
    (``(2 g + 2) f / h``, g = 2 for gated units); the ``5 a s / h`` of the attention scores
    unless fused or recomputed. fp8 keeps the four GEMM inputs as 1-byte casts. Megatron's
    selective recompute drops the scores only. PyTorch's per-op selective checkpointing
    (``framework = "fsdp"``, as torchtitan runs it) keeps the layer input, the attention output
    and every second matmul output, and recomputes the rest.
    """
    recompute = recompute or lo.recompute
    s, b, h, t = lo.seq / lo.cp, lo.mbs, model.hidden, lo.tp
    sbh = s * b * h
    sp = t if lo.sequence_parallel else 1
    if recompute == "full":
        return 2 * sbh / sp
    kv_ratio = model.kv_heads / model.heads
    if moe_layer:
        moe = model.moe
        assert moe is not None
        width = moe.expert_ffn_hidden * (moe.top_k * lo.moe_load + moe.shared_experts)
        extra_rep = 2 * moe.top_k * lo.moe_load  # permuted copies of the MoE input
    else:
        width, extra_rep = model.ffn_hidden, 0
    gated = 2 if model.gated else 1
    if recompute == "selective" and lo.framework == "fsdp":
        # every matmul's output: Q, K and V, attention-out (h wide), gate/up, MLP-down (h wide)
        outputs = 2 + 4 * kv_ratio + 2 + 2 * gated * width / h + 2
        return sbh * ((2 + extra_rep) / sp + (2 + outputs / 2) / t)
    gemm_in = FP8_ACTIVATION if lo.precision == "fp8" else 2
    masks = 2 if model.dropout else 0
    rep = 4 + 2 * gemm_in + masks + extra_rep
    split = 2 + 4 * kv_ratio + gemm_in + (2 * gated) * width / h + gemm_in * width / h
    scores = (
        0.0 if (lo.fused_attention or recompute == "selective") else 5 * model.heads * lo.seq / h
    )
    return sbh * (rep / sp + split / t + scores / t)


@functools.lru_cache(maxsize=4096)
def stage_kinds(model: ModelSpec, pp: int) -> tuple[tuple[int, int], ...]:
    """(dense layers, MoE layers) on each stage; cached, the search asks for it thousands of
    times."""
    counts = stage_layers(model.layers, pp)
    out, first = [], 0
    for n in counts:
        moe = sum(model.is_moe_layer(i) for i in range(first, first + n))
        out.append((n - moe, moe))
        first += n
    return tuple(out)


def stage_params(model: ModelSpec, lo: Layout, stage: int) -> tuple[float, float]:
    """(dense, expert) parameters one GPU of ``stage`` holds, before ZeRO sharding."""
    n_dense, n_moe = stage_kinds(model, lo.pp)[stage]
    per_layer = attention_params(model) / lo.tp + 2 * model.hidden
    dense = (n_dense + n_moe) * per_layer + n_dense * mlp_params(model, model.ffn_hidden) / lo.tp
    expert = 0.0
    if n_moe:
        moe = model.moe
        assert moe is not None
        one = mlp_params(model, moe.expert_ffn_hidden) / lo.tp
        expert = n_moe * moe.experts / lo.ep * one
        dense += n_moe * (moe.shared_experts * one + model.hidden * moe.experts)
    embed = padded_vocab(model.vocab, lo.tp) * model.hidden / lo.tp
    if stage == 0:
        dense += embed
    if stage == lo.pp - 1 and not (model.tied_embeddings and lo.pp == 1):
        dense += embed
    return dense, expert


def memory_parts(model: ModelSpec, lo: Layout, stage: int = 0) -> dict[str, float]:
    """Bytes per GPU of ``stage``, by part."""
    dense, expert = stage_params(model, lo, stage)
    dp_dense, dp_expert = lo.dp * lo.cp, max(1, lo.dp * lo.cp // lo.ep)

    def shard(n, level):
        return (dense / dp_dense + expert / dp_expert) if lo.zero >= level else dense + expert

    n_dense, n_moe = stage_kinds(model, lo.pp)[stage]
    per_mb = (n_dense * layer_activation_bytes(model, False, lo) if n_dense else 0.0) + (
        n_moe * layer_activation_bytes(model, True, lo) if n_moe else 0.0)
    held = (
        inflight_microbatches(lo.pp, lo.vp, lo.microbatches)
        if stage == 0
        else max(1.0, min(lo.pp - stage, lo.microbatches))
    )
    activations = per_mb * held
    if lo.recompute == "full":  # the layer being recomputed holds its full set
        activations += layer_activation_bytes(model, n_moe > 0, lo, recompute="none")
    logits = 0.0
    if stage == lo.pp - 1:
        logits = 2 * 4.0 * lo.mbs * lo.seq / lo.cp * padded_vocab(model.vocab, lo.tp) / lo.tp
    gathered = 0.0
    if lo.zero == 3:  # the layer computing and the one prefetched, gathered whole in bf16
        layers = n_dense + n_moe
        gathered = 2 * 2.0 * (dense + expert) / max(1, layers)
        if lo.framework == "deepspeed":  # gathers sub-modules, at most this many live
            gathered = min(gathered, 2.0 * DEEPSPEED_MAX_LIVE_PARAMETERS)
    fp8_copies = 0.0
    if lo.precision == "fp8":  # TE's cached fp8 weight and its transpose, per local weight
        fp8_copies = FP8_WEIGHT_COPIES * (dense + expert) / (
            (lo.dp * lo.cp) if lo.zero == 3 else 1)
    return {
        "weights": 2.0 * shard(dense + expert, 3) + gathered + fp8_copies,
        "gradients": float(lo.grad_reduce_bytes) * shard(dense + expert, 2),
        "optimizer": 12.0 * shard(dense + expert, 1),
        "activations": activations,
        "logits": logits,
        "reserved": RESERVED_GIB * GIB,
    }


def memory_per_gpu(model: ModelSpec, lo: Layout, capacity_gib: float) -> dict[str, object]:
    """The fullest stage's memory (GiB) by part, with the fragmentation margin; ``fits``: it
    needs no more than ``capacity_gib`` before the margin; ``tight``: only the margin is over."""
    stages = {0, lo.pp - 1}
    worst = max((memory_parts(model, lo, s) for s in stages), key=lambda parts: sum(parts.values()))
    worst["fragmentation"] = FRAGMENTATION * sum(
        v for k, v in worst.items() if k != "reserved")
    total = sum(worst.values()) / GIB
    bare = total - worst["fragmentation"] / GIB
    return {"gib_per_gpu": total, "fits": bare <= capacity_gib,
            "tight": bare <= capacity_gib < total, "capacity_gib": capacity_gib,
            "parts": {k: v / GIB for k, v in worst.items()}}
