"""Inference capacity from the same hardware profiles: prefill and decode throughput, KV-cache
memory, batch against latency, and the GPUs a request rate needs at a latency target.

One replica is ``tp`` GPUs of one NVLink domain holding the weights (bf16 2 B, fp8 1 B/param).

- Prefill is compute-bound: forward FLOPs per token = (6N + 12 L H Q T) / 3 (PaLM appendix B,
  forward third) at the GEMM efficiency of a prompt-sized matmul.
- Decode is bound by HBM: every step reads the weights once (for MoE the dense part plus the
  experts the batch touches, ``min(1, b k / E)`` of them) and each sequence's KV cache;
  step time = max(compute, bytes / (HBM bandwidth x efficiency)) + the TP all-reduces (two per
  layer, at least ``ALLREDUCE_LATENCY_S`` each). TPOT = step time; throughput = b / step.
- KV cache per token: ``2 L kv_heads head_dim`` values (K and V), bf16 (MLA: ``kv_rank +
  rope_head_dim`` per layer). A batch fits when weights + KV + reserve <= HBM x tp.
- Capacity: a replica serves ``1 / (O t_step / b + P t_prefill)`` requests/s for prompts of P and
  outputs of O tokens (prefill and decode share its time); GPUs = ceil(rate / that) x tp.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from exabench.analysis.planner.flops import (
    active_matmul_params,
    model_flops_per_token,
    total_params,
)
from exabench.analysis.planner.memory import GIB, RESERVED_GIB
from exabench.errors import UserError, one_of
from exabench.workloads.models import ModelSpec
from exabench.workloads.profile import HardwareProfile

ALLREDUCE_LATENCY_S = 8e-6
"""Assumed small-message NCCL all-reduce latency in one NVLink domain (tuning.cc base ~6.8 us
+ hops)."""
WEIGHT_BYTES = {"bf16": 2.0, "fp16": 2.0, "fp8": 1.0}
KV_BYTES = 2.0


@dataclass(kw_only=True, frozen=True)
class Serving:
    model: ModelSpec
    profile: HardwareProfile
    tp: int
    precision: str = "bf16"

    def __post_init__(self) -> None:
        if self.precision not in WEIGHT_BYTES:
            raise UserError(one_of(self.precision, tuple(WEIGHT_BYTES), name="precision"))
        self.profile.peak_flops(self.precision)

    @property
    def weight_bytes(self) -> float:
        return total_params(self.model) * WEIGHT_BYTES[self.precision]

    def kv_bytes_per_token(self) -> float:
        m = self.model
        if m.mla is not None:
            return m.layers * (m.mla.kv_rank + m.mla.rope_head_dim) * KV_BYTES
        return 2.0 * m.layers * m.kv_heads * m.head_dim * KV_BYTES

    def free_kv_bytes(self) -> float:
        return self.tp * (self.profile.peaks.capacity_gb - RESERVED_GIB) * GIB - self.weight_bytes

    def max_batch(self, context: int) -> int:
        return max(0, int(self.free_kv_bytes() // (context * self.kv_bytes_per_token())))

    def weights_read(self, batch: int) -> float:
        m = self.model
        if m.moe is None:
            return self.weight_bytes
        active = active_matmul_params(m) * WEIGHT_BYTES[self.precision]
        touched = min(1.0, batch * m.moe.top_k / m.moe.experts)
        return active + (self.weight_bytes - active) * touched

    def prefill_s_per_token(self, prompt: int) -> float:
        flops = model_flops_per_token(self.model, prompt) / 3.0
        gemm = 2.0 * prompt * self.model.hidden * self.model.hidden / self.tp
        eff = self.profile.gemm_efficiency(self.precision, gemm)
        return flops / (self.tp * self.profile.peak_flops(self.precision) * eff)

    def decode_parts(self, batch: int, context: int) -> dict[str, float]:
        """Seconds of one decode step by limit: HBM reads, matmul compute, TP all-reduces."""
        nbytes = (self.weights_read(batch) + batch * context * self.kv_bytes_per_token()) / self.tp
        memory = nbytes / self.profile.hbm_bytes_per_s(nbytes / self.model.layers)
        flops = batch * 2.0 * active_matmul_params(self.model) / self.tp
        gemm = 2.0 * batch * self.model.hidden * self.model.hidden / self.tp
        compute = flops / (
            self.profile.peak_flops(self.precision)
            * self.profile.gemm_efficiency(self.precision, gemm)
        )
        comm = 0.0
        if self.tp > 1:
            act = batch * self.model.hidden * 2.0
            one = 2 * (self.tp - 1) / self.tp * act / self.profile.nvlink_busbw("all_reduce", act)
            comm = 2 * self.model.layers * max(one, ALLREDUCE_LATENCY_S)
        return {"memory": memory, "compute": compute, "comm": comm}

    def decode_step_s(self, batch: int, context: int) -> float:
        p = self.decode_parts(batch, context)
        return max(p["memory"], p["compute"]) + p["comm"]

    def bound(self, batch: int, context: int) -> str:
        """Which limit sets the decode step: ``memory`` (HBM) or ``compute``."""
        p = self.decode_parts(batch, context)
        return "memory" if p["memory"] >= p["compute"] else "compute"


def default_tp(
    model: ModelSpec, profile: HardwareProfile, node: int, context: int, precision: str
) -> int:
    """The smallest TP (dividing the heads, within the node) that holds the weights and one
    sequence."""
    for tp in (1, 2, 4, 8, 16, 32, 64, 72):
        if tp > node or model.heads % tp:
            continue
        if (
            Serving(model=model, profile=profile, tp=tp, precision=precision).max_batch(context)
            >= 1
        ):
            return tp
    raise UserError(
        f"{model.name} does not fit on {node} x {profile.name} at {precision} with a"
        f" {context}-token context; try fp8 precision or a shorter prompt or output"
    )


def batch_table(s: Serving, prompt: int, output: int) -> list[dict[str, Any]]:
    """TPOT, tokens/s per GPU and KV GiB for batch 1, 2, 4, ... up to what fits."""
    context = prompt + output
    top = s.max_batch(context)
    rows, b = [], 1
    while b <= top:
        step = s.decode_step_s(b, prompt + output // 2)
        rows.append({
            "batch": b,
            "tpot_ms": step * 1e3,
            "decode_tokens_per_s_per_gpu": b / step / s.tp,
            "kv_gib": b * context * s.kv_bytes_per_token() / GIB,
            "bound": s.bound(b, prompt + output // 2),
        })
        b *= 2
    return rows


def capacity(
    s: Serving, *, prompt: int, output: int, rate: float, tpot_ms: float
) -> dict[str, Any]:
    """GPUs for ``rate`` requests/s at a TPOT target: the largest batch that meets it, then
    replicas."""
    for name, value in (
        ("prompt", prompt),
        ("output", output),
        ("rate", rate),
        ("tpot_ms", tpot_ms),
    ):
        if not value > 0:
            raise UserError(f"{name} = {value!r} is not valid; must be > 0")
    table = batch_table(s, prompt, output)
    ok = [r for r in table if r["tpot_ms"] <= tpot_ms]
    if not ok:
        best = table[0]["tpot_ms"] if table else float("nan")
        raise UserError(f"no batch meets tpot_ms = {tpot_ms:g} with tp = {s.tp} (batch 1 takes "
                        f"{best:.1f} ms); raise tpot_ms or tp")
    pick = ok[-1]
    step = pick["tpot_ms"] / 1e3
    prefill = s.prefill_s_per_token(prompt)
    per_replica = 1.0 / (output * step / pick["batch"] + prompt * prefill)
    replicas = math.ceil(rate / per_replica)
    return {
        "batch": pick["batch"],
        "tpot_ms": pick["tpot_ms"],
        "ttft_ms": prompt * prefill * 1e3,
        "requests_per_s_per_replica": per_replica,
        "replicas": replicas,
        "gpus": replicas * s.tp,
        "prefill_tokens_per_s_per_gpu": 1.0 / prefill / s.tp,
        "decode_tokens_per_s_per_gpu": pick["decode_tokens_per_s_per_gpu"],
        "table": table,
    }
