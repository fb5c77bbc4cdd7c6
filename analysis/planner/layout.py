"""A parallel layout and its framework settings, checked against a model and a GPU count.

Rank order is Megatron's: TP varies fastest, then CP, then DP (EP is carved out of DP), then
PP, so a TP group sits inside a node when TP <= GPUs per node, and a DP group's stride is TP*CP.

:class:`LayoutRequest` is what a caller fixes (the CLI's ``--tp 8``, a published run's stated
settings); the planner fills in the rest (plan.py) and builds a :class:`Layout`. Errors name
the field first (``tp = 3 must divide ...``), never a CLI flag.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from exabench.errors import UserError, one_of
from exabench.workloads.models import ModelSpec

PRECISIONS = ("bf16", "fp16", "fp8")
ATTENTION_KERNELS = ("fa2", "fa3", "cudnn", "unfused")
DEFAULT_PRECISION = "bf16"
RECOMPUTE = ("none", "selective", "full")
ZERO_STAGES = (0, 1, 2, 3)
LAYOUT_TEXT = (("tp", "TP{}"), ("pp", "PP{}"), ("cp", "CP{}"), ("ep", "EP{}"), ("dp", "DP{}"),
               ("zero", "ZeRO-{}"), ("mbs", "mbs {}"), ("recompute", "{}"), ("precision", "{}"))
"""How each field reads in a layout's one text (:func:`describe_layout`), in order."""


@dataclass(kw_only=True, frozen=True, slots=True)
class LayoutRequest:
    """The layout fields a caller fixes; None: chosen by the search (``tp`` ... ``recompute``)
    or defaulted with the assumption named in the Plan (``seq``, ``global_batch``, framework)."""

    tp: int | None = None
    pp: int | None = None
    vp: int | None = None
    """Virtual pipeline chunks per stage."""
    cp: int | None = None
    ep: int | None = None
    dp: int | None = None
    """Inferred from the GPUs when tp, pp and cp are fixed."""
    zero: int | None = None
    mbs: int | None = None
    """Sequences per micro-batch."""
    global_batch: int | None = None
    """Sequences per optimizer step."""
    seq: int | None = None
    """Tokens per sequence (default: the model's)."""
    precision: str | None = None
    recompute: str | None = None
    sequence_parallel: bool | None = None
    flash_attention: bool | None = None
    overlap_dp: bool | None = None
    grad_reduce_bytes: int | None = None
    framework: str | None = None
    """Framework preset whose knobs fill the framework fields left None (default: megatron)."""
    tp_comm_overlap: bool | None = None
    pp_comm_overlap: bool | None = None
    cp_comm_overlap: bool | None = None
    ep_comm_overlap: bool | None = None
    fsdp_prefetch: bool | None = None
    cuda_graphs: bool | None = None
    attention_kernel: str | None = None
    fused_elementwise: bool | None = None
    dp_bucket_mb: float | None = None
    moe_capacity_factor: float | None = None
    """Expert capacity as a multiple of the balanced load (tokens beyond are dropped, short
    experts padded to it); 0: dropless."""
    moe_imbalance: float | None = None
    """Tokens of the busiest expert over the balanced load, dropless routing."""

    def given(self) -> dict[str, Any]:
        """The fixed fields by name (those not None), in field order."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        return {name: value for name, value in values.items() if value is not None}


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
    precision: str = DEFAULT_PRECISION
    recompute: str = "selective"
    sequence_parallel: bool = True
    """Megatron sequence parallelism with TP (reduce-scatter + all-gather instead of all-reduce)."""
    flash_attention: bool = True
    """Fused attention (skips the masked half); False: unfused softmax as Megatron ran in
    2021-22."""
    overlap_dp: bool = True
    """Gradient reduce-scatter overlapped with the last backward, parameter all-gather with the
    next forward."""
    grad_reduce_bytes: int = 4
    """Bytes per gradient element on the wire (Megatron reduces fp32 main grads by default)."""
    framework: str = "megatron"
    """The framework preset the knobs below came from (knobs a caller set override it)."""
    tp_comm_overlap: bool = False
    """TP all-gather / reduce-scatter overlapped with the GEMMs that consume / produce them
    (Transformer Engine userbuffers, ``--tp-comm-overlap``; async TP in PyTorch)."""
    pp_comm_overlap: bool = False
    """Pipeline sends and receives overlapped with compute (``--overlap-p2p-comm``)."""
    cp_comm_overlap: bool = True
    """Context-parallel ring exchange of K and V overlapped with the attention blocks."""
    ep_comm_overlap: bool = False
    """MoE all-to-all overlapped with another micro-batch's compute (DeepSeek-V3's DualPipe,
    arXiv 2412.19437 section 3.2.1; Megatron's --overlap-moe-expert-parallel-comm)."""
    fsdp_prefetch: bool = True
    """ZeRO-3 / FSDP: the next layer's parameter all-gather issued during this layer's compute."""
    cuda_graphs: bool = False
    """The step captured as CUDA graphs: no per-kernel launch overhead."""
    attention_kernel: str = "fa2"
    """Fused attention kernel when ``flash_attention``: ``fa2``, ``fa3`` or ``cudnn``."""
    fused_elementwise: bool = True
    """Norms, bias, activation and residual fused into fewer kernels (TE, apex, torch.compile)."""
    dp_bucket_mb: float = 40.0
    """Gradient bucket size, MB: the last bucket's reduction cannot overlap the backward; 0: one
    transformer layer per bucket (FSDP)."""
    moe_capacity_factor: float = 0.0
    """Expert capacity over the balanced load, every expert padded to it (GShard, Lepikhin et
    al. 2020, arXiv 2006.16668; Megatron --moe-expert-capacity-factor with
    --moe-pad-expert-input-to-capacity); 0: dropless, the busiest expert sets the pace."""
    moe_imbalance: float = 1.0
    """Dropless routing: the busiest expert's tokens over the balanced load (assumed 1.0:
    perfectly balanced unless given)."""

    @property
    def moe_load(self) -> float:
        """The busiest expert's tokens over the balanced load: the capacity when experts are
        padded to it, else the routing imbalance."""
        return self.moe_capacity_factor if self.moe_capacity_factor > 0 else self.moe_imbalance

    @property
    def gpus(self) -> int:
        return self.tp * self.pp * self.cp * self.dp

    @property
    def fused_attention(self) -> bool:
        """Attention runs as one fused kernel (flash_attention and a kernel other than
        ``unfused``)."""
        return self.flash_attention and self.attention_kernel != "unfused"

    @property
    def microbatches(self) -> int:
        return self.global_batch // (self.dp * self.mbs)

    def describe(self) -> str:
        """The one text of a layout, everywhere it is shown:
        ``TP8 PP16x4 CP1 EP1 DP128 ZeRO-1 mbs 1 selective bf16`` (the recompute setting, then
        the precision)."""
        return describe_layout({f.name: getattr(self, f.name) for f in fields(self)})


def describe_layout(layout: Mapping[str, Any]) -> str:
    """:meth:`Layout.describe` of a Plan's ``inputs.layout`` read back from JSON: the same text,
    without the parts a Plan of another planner version left out. ``PP16x4``: 16 stages of 4
    virtual chunks each (interleaved), the ``x4`` shown only when interleaving."""
    vp = layout.get("vp")
    interleaved = isinstance(vp, int) and not isinstance(vp, bool) and vp > 1
    parts = [text.format(layout[key]) + (f"x{vp}" if key == "pp" and interleaved else "")
             for key, text in LAYOUT_TEXT if layout.get(key) is not None]
    return " ".join(parts)


def check_layout(model: ModelSpec, layout: Layout, gpus: int | None = None) -> None:
    """Raise a one-line UserError naming the first field that makes ``layout`` impossible."""
    lo = layout
    for field in ("moe_capacity_factor", "moe_imbalance"):
        value = getattr(lo, field)
        low = 0.0 if field == "moe_capacity_factor" else 1.0
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
                low <= value <= 64 and (value >= 1 or value == 0)):
            valid = "0 (dropless) or a number in [1, 64]" if low == 0 else "a number in [1, 64]"
            raise UserError(f"{field} = {value!r} is not valid; must be {valid}")
    for field in ("tp", "pp", "vp", "cp", "ep", "dp", "mbs", "global_batch", "seq"):
        value = getattr(lo, field)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise UserError(f"{field} = {value!r} is not valid; must be a positive integer")
    for field, valid in (("zero", ZERO_STAGES), ("precision", PRECISIONS),
                         ("recompute", RECOMPUTE), ("attention_kernel", ATTENTION_KERNELS)):
        if getattr(lo, field) not in valid:
            raise UserError(one_of(getattr(lo, field), valid, name=field))
    _check_model_split(model, lo)
    if gpus is not None and lo.gpus != gpus:
        raise UserError(f"dp x tp x pp x cp = {lo.dp} x {lo.tp} x {lo.pp} x {lo.cp} = {lo.gpus} "
                        f"must equal gpus = {gpus}")
    if lo.global_batch % (lo.dp * lo.mbs):
        raise UserError(f"global_batch = {lo.global_batch} must be a multiple of dp x mbs = "
                        f"{lo.dp} x {lo.mbs} = {lo.dp * lo.mbs}")


def _check_model_split(model: ModelSpec, lo: Layout) -> None:
    """The degrees the model's shape allows: heads and FFN over TP, layers over PP and VP, the
    sequence over CP, experts over EP."""
    if model.heads % lo.tp:
        valid = ", ".join(str(d) for d in divisors(model.heads) if d <= 64)
        raise UserError(f"tp = {lo.tp} must divide the {model.heads} attention heads of "
                        f"{model.name}; valid: {valid}")
    if lo.tp > model.kv_heads and lo.tp % model.kv_heads:
        raise UserError(f"tp = {lo.tp} must divide or be a multiple of kv_heads = {model.kv_heads}")
    ffn = model.moe.expert_ffn_hidden if model.moe else model.ffn_hidden
    if model.ffn_hidden % lo.tp or ffn % lo.tp:
        raise UserError(f"tp = {lo.tp} must divide ffn_hidden = {model.ffn_hidden}"
                        + (f" and expert_ffn_hidden = {ffn}" if model.moe else ""))
    if lo.pp > model.layers:
        raise UserError(f"pp = {lo.pp} exceeds the {model.layers} layers of {model.name}")
    if lo.vp > 1 and (lo.pp == 1 or -(-model.layers // lo.pp) < lo.vp):
        raise UserError(f"vp = {lo.vp} needs pp > 1 and at least {lo.vp} layers per stage "
                        f"({model.layers} layers on {lo.pp} stages)")
    if lo.cp > 1 and lo.seq % (2 * lo.cp):
        raise UserError(f"cp = {lo.cp}: the sequence {lo.seq} must split into 2 x cp = {2 * lo.cp} "
                        "equal chunks")
    if model.moe is None and (lo.moe_capacity_factor or lo.moe_imbalance != 1.0):
        field = "moe_capacity_factor" if lo.moe_capacity_factor else "moe_imbalance"
        raise UserError(f"{field} = {getattr(lo, field)} needs a mixture-of-experts model; "
                        f"{model.name} is dense (leave it out)")
    if model.moe is None and lo.ep != 1:
        raise UserError(f"ep = {lo.ep} needs a mixture-of-experts model; {model.name} is dense "
                        "(use ep = 1)")
    if model.moe is not None:
        if model.moe.experts % lo.ep:
            raise UserError(f"ep = {lo.ep} must divide the {model.moe.experts} experts of "
                            f"{model.name}")
        if (lo.dp * lo.cp) % lo.ep:
            raise UserError(f"ep = {lo.ep} must divide dp x cp = {lo.dp * lo.cp} "
                            "(experts are spread over data-parallel ranks)")


def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def check_fixed(model: ModelSpec, request: LayoutRequest, gpus: int, base: Layout) -> None:
    """Check the layout fields a caller fixed, before searching the rest: a wrong one is named."""
    probe = {k: v for k, v in request.given().items()
             if k in ("tp", "pp", "cp", "ep", "dp", "mbs", "zero", "recompute")}
    if request.vp is not None and request.pp is not None:
        probe["vp"] = request.vp
    if model.moe is not None and "ep" in probe and "dp" not in probe:
        probe["dp"] = probe["ep"]  # EP's divisibility by dp x cp: against the real dp in the search
    lo = replace(base, **probe)
    lo = replace(lo, global_batch=lo.dp * lo.mbs)
    check_layout(model, lo)
    degrees = {k: v for k, v in request.given().items() if k in ("tp", "pp", "cp", "dp")}
    product = 1
    for degree in degrees.values():
        product *= degree
    if len(degrees) == 4 and product != gpus:
        raise UserError(f"dp x tp x pp x cp = {request.dp} x {request.tp} x {request.pp} x "
                        f"{request.cp} = {product} must equal gpus = {gpus}")
    if gpus % product:
        raise UserError(f"{' x '.join(degrees)} = {product} must divide gpus = {gpus}")
