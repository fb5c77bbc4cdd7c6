"""One training step: compute, exposed communication, pipeline bubble and optimizer, composed.

Per micro-batch, each pipeline stage spends ``sum over its layers (forward + backward +
recompute + exposed TP / CP / EP communication)`` plus the point-to-point sends of its chunks;
the first stage adds the embedding, the last the output layer and loss. The slowest stage sets
the pace ``t_mb``, and within it the slowest GPU (compute.straggler_factor). A step is then::

    m * t_mb                      (m micro-batches per step)
  + (p - 1) / v * t_mb            (pipeline bubble, pipeline.py)
  + exposed data-parallel time    (gradient reduce-scatter / all-reduce, parameter all-gather,
                                   beyond what overlaps the last backward / first forward)
  + optimizer                     (HBM-bound Adam on the local shard)

Exposed TP communication: with sequence parallelism 2 all-gathers + 2 reduce-scatters of the
layer's activations forward and backward (the backward's re-gather for the weight gradient is
overlapped with the data gradient, as Megatron does), else 2 all-reduces each way; full
recompute repeats the forward's. CP ring attention sends K and V around the ring, hidden
behind the attention compute where it is shorter. EP: an all-to-all to dispatch and one to
combine, forward and backward, not overlapped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from exabench.analysis.planner.comm import Fabric, collective_time, p2p_time
from exabench.analysis.planner.compute import (
    LayerTime,
    embedding_time,
    layer_time,
    logits_time,
    optimizer_time,
    straggler_factor,
)
from exabench.analysis.planner.flops import (
    attention_dims,
    hardware_flops_per_token,
    model_flops_per_token,
)
from exabench.analysis.planner.layout import Layout
from exabench.analysis.planner.memory import GIB, memory_per_gpu, stage_kinds, stage_params
from exabench.analysis.planner.pipeline import stage_layers
from exabench.workloads.clusters import ClusterSpec
from exabench.workloads.models import ModelSpec
from exabench.workloads.profile import HardwareProfile

BREAKDOWN_KEYS = (
    "compute",
    "tp_comm",
    "cp_comm",
    "ep_comm",
    "pp_comm",
    "bubble",
    "dp_comm",
    "optimizer",
)


@dataclass
class Context:
    """Model, profile and cluster of a plan, with caches shared by every layout a search tries."""

    model: ModelSpec
    profile: HardwareProfile
    cluster: ClusterSpec
    _layers: dict[tuple, LayerTime] = field(default_factory=dict)
    _flops: dict[tuple, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.fabric = Fabric(self.profile, self.cluster)
        self.capacity_gib = self.profile.peaks.capacity_gb

    def layer(self, moe_layer: bool, lo: Layout) -> LayerTime:
        key = (moe_layer, lo.tp, lo.cp, lo.ep, lo.mbs, lo.seq, lo.precision,
               lo.sequence_parallel, lo.fused_attention, lo.attention_kernel,
               lo.fused_elementwise, lo.cuda_graphs, lo.moe_load)
        if key not in self._layers:
            self._layers[key] = layer_time(self.model, moe_layer, lo, self.profile)
        return self._layers[key]

    def flops(self, kind: str, seq: int, recompute: str = "none") -> float:
        key = (kind, seq, recompute)
        if key not in self._flops:
            self._flops[key] = (model_flops_per_token(self.model, seq) if kind == "model"
                                else hardware_flops_per_token(self.model, seq, recompute))
        return self._flops[key]


def _layer_costs(ctx: Context, moe_layer: bool, lo: Layout) -> dict[str, float]:
    """Seconds per micro-batch of one layer, by breakdown kind."""
    lt = ctx.layer(moe_layer, lo)
    model, fab = ctx.model, ctx.fabric
    if lo.recompute == "selective" and lo.framework == "fsdp":
        # per-op checkpointing (memory.layer_activation_bytes): every second matmul and the
        # memory-bound passes run again in the backward
        recompute = 0.5 * lt.gemm_fwd + lt.elem_fwd
    else:
        recompute = {"none": 0.0, "selective": lt.attn_fwd, "full": lt.fwd}[lo.recompute]
    tokens = lo.mbs * lo.seq // lo.cp
    act = tokens * model.hidden * 2.0
    tp = 0.0
    if lo.tp > 1:
        # Two collectives of each kind per direction (attention and MLP); x3 directions with full
        # recompute.
        passes = 3 if lo.recompute == "full" else 2
        if lo.sequence_parallel:
            one = collective_time(fab, "all_gather", act, lo.tp) + collective_time(
                fab, "reduce_scatter", act, lo.tp
            )
        else:
            one = collective_time(fab, "all_reduce", act, lo.tp)
        tp = 2 * one * passes
        if lo.tp_comm_overlap:
            tp = tp_exposed(tp, lt.gemm_fwd * passes / 2 + lt.gemm_bwd, lo.tp)
    cp = 0.0
    if lo.cp > 1:
        qk, v = attention_dims(model)
        kv_heads = (model.heads if model.mla else max(model.kv_heads, lo.tp)) / lo.tp
        chunk = lo.mbs * (lo.seq / lo.cp) * kv_heads * (qk + v) * 2.0
        ring = (lo.cp - 1) * p2p_time(fab, chunk, lo.tp)
        if lo.cp_comm_overlap:  # each block's K, V arrive while the previous block computes
            first = ring / (lo.cp - 1)
            cp = (first + hidden_cost(ring - first, lt.attn_fwd)
                  + 2 * first + hidden_cost(2 * (ring - first), lt.attn_bwd))
        else:
            cp = 3 * ring
    ep = 0.0
    if moe_layer and lo.ep > 1:
        moe = model.moe
        assert moe is not None
        # the busiest expert's rank receives moe_load x its balanced share, and all wait for it
        sent = (tokens / (lo.tp if lo.sequence_parallel else 1) * moe.top_k * model.hidden * 2.0
                * lo.moe_load)
        ep = (4 + (2 if lo.recompute == "full" else 0)) * collective_time(
            fab, "all_to_all", sent, lo.ep, lo.tp
        )
        if lo.ep_comm_overlap:  # dispatch/combine of one micro-batch under another's compute
            ep = hidden_cost(ep, lt.fwd + lt.bwd)
    return {"compute": lt.fwd + lt.bwd + recompute, "tp_comm": tp, "cp_comm": cp, "ep_comm": ep,
            "fwd": lt.fwd, "bwd": lt.bwd}


def _stage_costs(ctx: Context, lo: Layout, stage: int, counts: list[int]) -> dict[str, float]:
    n_moe = stage_kinds(ctx.model, lo.pp)[stage][1]
    total = {k: 0.0 for k in ("compute", "tp_comm", "cp_comm", "ep_comm", "fwd", "bwd")}
    for moe_layer, n in ((True, n_moe), (False, counts[stage] - n_moe)):
        if n:
            for k, v in _layer_costs(ctx, moe_layer, lo).items():
                total[k] += n * v
    ends = [logits_time] if stage == lo.pp - 1 else []
    if stage == 0:
        ends.append(embedding_time)
    for end in ends:
        f, b = end(ctx.model, lo, ctx.profile)
        total["compute"] += f + b
        total["fwd"] += f
        total["bwd"] += b
    if lo.pp > 1:
        # Megatron's scatter/gather optimisation: each TP rank sends 1/tp of the activation
        # (SC'21 section 4.1); without sequence parallelism an NVLink all-gather rebuilds it.
        act = lo.mbs * lo.seq / lo.cp * ctx.model.hidden * 2.0
        one = p2p_time(ctx.fabric, act / lo.tp, lo.tp * lo.cp * lo.dp)
        if not lo.sequence_parallel:
            one += collective_time(ctx.fabric, "all_gather", act, lo.tp)
        # Each micro-batch sends its activations forward and its gradients back, once per
        # chunk. With the sends overlapped (Megatron --overlap-p2p-comm) only the warm-up's
        # first send and the cool-down's last are exposed, once per step, not per micro-batch.
        per_mb = 2 * lo.vp * one
        total["pp_comm"] = per_mb / lo.microbatches if lo.pp_comm_overlap else per_mb
    else:
        total["pp_comm"] = 0.0
    return total


COMM_SM_SHARE = 16 / 132
"""Share of an H100's SMs an overlapped NCCL collective occupies: NCCL runs one CTA per
channel on its own SM (NCCL user guide, NCCL_MIN_CTAS / NCCL_MAX_CTAS), 16 channels assumed.
Compute overlapped with a collective runs on the SMs left, so hiding communication costs
``hidden x share`` of compute time."""


def hidden_cost(comm: float, window: float) -> float:
    """Exposed seconds of ``comm`` overlapped with ``window`` of compute: what sticks out,
    plus the compute slowed by the SMs the collective holds while it is hidden."""
    hidden = min(comm, window)
    return comm - hidden + hidden * COMM_SM_SHARE


def tp_exposed(comm: float, gemms: float, tp: int) -> float:
    """TP communication overlapped with the GEMMs around it (userbuffers): the collective is
    split in ``tp`` chunks pipelined with the GEMM's chunks, so the first chunk is exposed and
    the rest hides behind the GEMMs as far as they last."""
    first = comm / tp
    return first + hidden_cost(comm - first, gemms)


DEEPSPEED_PREFETCH_PARAMS = 5e7
"""Parameters per ZeRO-3 all-gather in DeepSpeed: ``stage3_prefetch_bucket_size`` (5e7 in
microsoft/DeepSpeed deepspeed/runtime/zero/config.py); FSDP gathers one wrapped block (a
transformer layer) per collective."""


def zero3_units(ctx: Context, lo: Layout, stage: int, params: float) -> int:
    """Collectives per ZeRO-3 pass over a stage: one per layer (FSDP), or one per DeepSpeed
    prefetch bucket; each pays its own latency, which is what small shards at large DP cost."""
    layers = max(1, stage_layers(ctx.model.layers, lo.pp)[stage])
    if lo.framework == "deepspeed":
        return max(layers, math.ceil(params / DEEPSPEED_PREFETCH_PARAMS))
    return layers


def _dp_time(ctx: Context, lo: Layout, stage: int, fwd: float, bwd: float, m: int) -> float:
    """Exposed data-parallel communication per step.

    ZeRO 0-2 (Megatron DDP / distributed optimizer, DeepSpeed): gradients are reduced in
    buckets of ``dp_bucket_mb`` while the last micro-batch's backward runs, and (ZeRO >= 1)
    the updated parameters are all-gathered in buckets while the next step's first forward
    runs; the last gradient bucket and the first parameter bucket cannot overlap.
    ZeRO-3 / FSDP: every micro-batch gathers each layer's parameters forward and backward and
    reduce-scatters its gradients; with prefetch the next layer's gather runs under this
    layer's compute, so one layer's gather is exposed each way; without it every gather is.
    """
    n_dense, n_exp = lo.dp * lo.cp, lo.dp * lo.cp // lo.ep
    if n_dense <= 1 and n_exp <= 1:
        return 0.0
    dense, expert = stage_params(ctx.model, lo, stage)
    fab, gb = ctx.fabric, lo.grad_reduce_bytes

    def both(kind: str, per_param: float, share: float = 1.0) -> float:
        return (collective_time(fab, kind, share * dense * per_param, n_dense, lo.tp)
                + collective_time(fab, kind, share * expert * per_param, n_exp, lo.tp * lo.ep))

    if lo.zero == 3:
        units = zero3_units(ctx, lo, stage, dense + expert)
        gather = units * both("all_gather", 2.0, 1.0 / units)
        scatter = units * both("reduce_scatter", gb, 1.0 / units)
        if not lo.overlap_dp:
            return m * (2 * gather + scatter)
        one = gather / units
        if not lo.fsdp_prefetch:
            return m * (2 * gather + hidden_cost(scatter, bwd))
        return m * (2 * one + hidden_cost(gather - one, fwd)
                    + hidden_cost(gather - one + scatter, bwd))
    grads_kind = "all_reduce" if lo.zero == 0 else "reduce_scatter"
    grads = both(grads_kind, gb)
    params = both("all_gather", 2.0) if lo.zero >= 1 else 0.0
    if not lo.overlap_dp:
        return grads + params
    total_bytes = (dense + expert) * gb
    if lo.dp_bucket_mb <= 0:  # one transformer layer per bucket (FSDP-style units)
        share = 1.0 / max(1, stage_layers(ctx.model.layers, lo.pp)[stage])
    else:
        share = min(1.0, lo.dp_bucket_mb * 1e6 / total_bytes) if total_bytes else 1.0
    last = both(grads_kind, gb, share)
    first = both("all_gather", 2.0, share) if params else 0.0
    return (last + hidden_cost(grads - last, bwd)
            + first + hidden_cost(params - first, fwd))


def evaluate(ctx: Context, lo: Layout, *, with_memory: bool = True) -> dict[str, Any]:
    """Step time, its breakdown, throughput, MFU/HFU and memory for one layout (already checked)."""
    model = ctx.model
    counts = stage_layers(model.layers, lo.pp)
    stages = sorted({0, lo.pp - 1, counts.index(max(counts))})
    costs = {s: _stage_costs(ctx, lo, s, counts) for s in stages}
    pace = {
        s: sum(c[k] for k in ("compute", "tp_comm", "cp_comm", "ep_comm", "pp_comm"))
        for s, c in costs.items()
    }
    slow = max(pace, key=lambda s: pace[s])
    c, m = dict(costs[slow]), lo.microbatches
    # Every collective waits for the slowest GPU: its compute sets the pace
    # (compute.straggler_factor).
    slowest = straggler_factor(lo.gpus, ctx.profile.node_spread) - 1.0
    c["compute"] *= 1.0 + slowest
    c["fwd"] *= 1.0 + slowest
    c["bwd"] *= 1.0 + slowest
    t_mb = pace[slow] + slowest * costs[slow]["compute"]
    breakdown = {k: m * c[k] for k in ("compute", "tp_comm", "cp_comm", "ep_comm", "pp_comm")}
    breakdown["bubble"] = (lo.pp - 1) / lo.vp * t_mb
    breakdown["dp_comm"] = _dp_time(ctx, lo, slow, c["fwd"], c["bwd"], m)
    dense, expert = stage_params(model, lo, slow)
    local = (
        dense / (lo.dp * lo.cp) + expert / max(1, lo.dp * lo.cp // lo.ep)
        if lo.zero >= 1
        else dense + expert
    )
    breakdown["optimizer"] = optimizer_time(local, ctx.profile)
    step = sum(breakdown.values())
    tokens = lo.global_batch * lo.seq
    gpus = lo.gpus
    peak = ctx.profile.peak_flops(lo.precision)
    model_flops = ctx.flops("model", lo.seq) * tokens
    hw_flops = ctx.flops("hardware", lo.seq, lo.recompute) * tokens
    result: dict[str, Any] = {
        "step_time_s": step,
        "tokens_per_s_per_gpu": tokens / step / gpus,
        "model_tflops_per_gpu": model_flops / step / gpus / 1e12,
        "mfu": model_flops / step / gpus / peak,
        "hfu": hw_flops / step / gpus / peak,
        "breakdown_s": breakdown,
        "microbatches": m,
    }
    if with_memory:
        result["memory"] = memory_per_gpu(model, lo, ctx.capacity_gib)
        result["layer_ops"] = layer_ops_section(ctx, lo, slow)
    return result


def layer_ops_section(ctx: Context, lo: Layout, stage: int) -> dict[str, Any]:
    """One layer of ``stage`` (its MoE kind if it has MoE layers) kernel by kernel, for one
    micro-batch on one GPU: what the Plan shows as the operator-level breakdown."""
    moe_layer = stage_kinds(ctx.model, lo.pp)[stage][1] > 0
    lt = ctx.layer(moe_layer, lo)
    return {
        "stage": stage,
        "moe": moe_layer,
        "ops": [{"name": o.name, "kind": o.kind, "fwd_s": o.fwd, "bwd_s": o.bwd,
                 "kernels": o.kernels} for o in lt.ops],
        "launch_s": lt.launch_fwd + lt.launch_bwd,
        "total_s": lt.fwd + lt.bwd,
    }


def fits(ctx: Context, lo: Layout, *, allow_tight: bool = True) -> tuple[bool, float]:
    """Whether ``lo`` fits in memory (without the fragmentation margin when ``allow_tight``,
    with it otherwise), and the GiB per GPU it needs."""
    mem = memory_per_gpu(ctx.model, lo, ctx.capacity_gib)
    ok = bool(mem["fits"]) and (allow_tight or not mem["tight"])
    return ok, float(mem["gib_per_gpu"])


__all__ = ["BREAKDOWN_KEYS", "Context", "evaluate", "fits", "GIB"]
