"""A parallel layout and its framework settings, checked against a model and a GPU count.

Rank order is Megatron's: TP varies fastest, then CP, then DP (EP is carved out of DP), then
PP, so a TP group sits inside a node when TP <= GPUs per node, and a DP group's stride is TP*CP.
"""

from __future__ import annotations

from dataclasses import dataclass

from exabench.errors import UserError
from exabench.workloads.models import ModelSpec

PRECISIONS = ("bf16", "fp16", "fp8")
RECOMPUTE = ("none", "selective", "full")


@dataclass(kw_only=True, frozen=True)
class Layout:
    tp: int = 1
    pp: int = 1
    vp: int = 1
    """Virtual pipeline chunks per stage (interleaved 1F1B when > 1)."""
    cp: int = 1
    ep: int = 1
    dp: int = 1
    zero: int = 1
    """0: DDP all-reduce; 1: optimizer states sharded; 2: + gradients; 3: + weights (FSDP)."""
    mbs: int = 1
    """Sequences per micro-batch."""
    global_batch: int = 1
    """Sequences per optimizer step."""
    seq: int = 2048
    precision: str = "bf16"
    recompute: str = "selective"
    sequence_parallel: bool = True
    """Megatron sequence parallelism with TP (reduce-scatter + all-gather instead of all-reduce)."""
    flash_attention: bool = True
    """Fused attention (skips the masked half); False: unfused softmax as Megatron ran in 2021-22."""
    overlap_dp: bool = True
    """Gradient reduce-scatter overlapped with the last backward, parameter all-gather with the next forward."""
    grad_reduce_bytes: int = 4
    """Bytes per gradient element on the wire (Megatron reduces fp32 main grads by default)."""

    @property
    def gpus(self) -> int:
        return self.tp * self.pp * self.cp * self.dp

    @property
    def microbatches(self) -> int:
        return self.global_batch // (self.dp * self.mbs)

    def describe(self) -> str:
        return (f"TP{self.tp} PP{self.pp}" + (f"x{self.vp}" if self.vp > 1 else "") + f" CP{self.cp} EP{self.ep} "
                f"DP{self.dp} ZeRO-{self.zero} mbs {self.mbs} {self.recompute} {self.precision}")


def check_layout(model: ModelSpec, layout: Layout, gpus: int | None = None) -> None:
    """Raise a one-line UserError naming the first field that makes ``layout`` impossible."""
    lo = layout
    for field in ("tp", "pp", "vp", "cp", "ep", "dp", "mbs", "global_batch", "seq"):
        value = getattr(lo, field)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise UserError(f"--{field.replace('_', '-')} = {value!r} is not valid; must be a positive integer")
    if lo.zero not in (0, 1, 2, 3):
        raise UserError(f"--zero = {lo.zero!r} is not valid; valid: 0, 1, 2, 3")
    if lo.precision not in PRECISIONS:
        raise UserError(f"--precision = {lo.precision!r} is not valid; valid: {', '.join(PRECISIONS)}")
    if lo.recompute not in RECOMPUTE:
        raise UserError(f"--recompute = {lo.recompute!r} is not valid; valid: {', '.join(RECOMPUTE)}")
    if model.heads % lo.tp:
        raise UserError(f"--tp = {lo.tp} must divide the {model.heads} attention heads of {model.name}; "
                        f"valid: {', '.join(str(d) for d in divisors(model.heads) if d <= 64)}")
    if lo.tp > model.kv_heads and lo.tp % model.kv_heads:
        raise UserError(f"--tp = {lo.tp} must divide or be a multiple of kv_heads = {model.kv_heads}")
    ffn = model.moe.expert_ffn_hidden if model.moe else model.ffn_hidden
    if model.ffn_hidden % lo.tp or ffn % lo.tp:
        raise UserError(f"--tp = {lo.tp} must divide ffn_hidden = {model.ffn_hidden}" + (f" and expert_ffn_hidden = {ffn}" if model.moe else ""))
    if lo.pp > model.layers:
        raise UserError(f"--pp = {lo.pp} exceeds the {model.layers} layers of {model.name}")
    if lo.vp > 1 and (lo.pp == 1 or -(-model.layers // lo.pp) < lo.vp):
        raise UserError(f"--vp = {lo.vp} needs --pp > 1 and at least {lo.vp} layers per stage "
                        f"({model.layers} layers on {lo.pp} stages)")
    if lo.cp > 1 and lo.seq % (2 * lo.cp):
        raise UserError(f"--cp = {lo.cp}: the sequence {lo.seq} must split into 2 x cp = {2 * lo.cp} equal chunks")
    if model.moe is None and lo.ep != 1:
        raise UserError(f"--ep = {lo.ep} needs a mixture-of-experts model; {model.name} is dense (use --ep 1)")
    if model.moe is not None:
        if model.moe.experts % lo.ep:
            raise UserError(f"--ep = {lo.ep} must divide the {model.moe.experts} experts of {model.name}")
        if (lo.dp * lo.cp) % lo.ep:
            raise UserError(f"--ep = {lo.ep} must divide dp x cp = {lo.dp * lo.cp} (experts are spread over data-parallel ranks)")
    if gpus is not None and lo.gpus != gpus:
        raise UserError(f"dp x tp x pp x cp = {lo.dp} x {lo.tp} x {lo.pp} x {lo.cp} = {lo.gpus} must equal --gpus {gpus}")
    if lo.global_batch % (lo.dp * lo.mbs):
        raise UserError(f"--global-batch = {lo.global_batch} must be a multiple of dp x mbs = {lo.dp} x {lo.mbs} = {lo.dp * lo.mbs}")


def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def check_fixed(model: ModelSpec, fixed: dict, gpus: int, base: Layout) -> None:
    """Check the layout options a user fixed, before searching the rest: a wrong one is named."""
    from dataclasses import replace

    probe = {k: fixed[k] for k in ("tp", "pp", "cp", "ep", "dp", "mbs", "zero", "recompute") if k in fixed}
    if "vp" in fixed and "pp" in fixed:
        probe["vp"] = fixed["vp"]
    if model.moe is not None and "ep" in probe and "dp" not in probe:
        probe["dp"] = probe["ep"]  # EP's divisibility by dp x cp is checked against the real dp in the search
    lo = replace(base, **probe)
    lo = replace(lo, global_batch=lo.dp * lo.mbs)
    check_layout(model, lo)
    dims = [k for k in ("tp", "pp", "cp", "dp") if k in fixed]
    product = 1
    for k in dims:
        product *= fixed[k]
    if len(dims) == 4 and product != gpus:
        raise UserError(f"dp x tp x pp x cp = {fixed['dp']} x {fixed['tp']} x {fixed['pp']} x {fixed['cp']} = {product} "
                        f"must equal --gpus {gpus}")
    if gpus % product:
        raise UserError(f"{' x '.join(dims)} = {product} must divide --gpus {gpus}")
