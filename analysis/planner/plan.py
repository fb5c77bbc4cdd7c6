"""The Plan document (``schema = "exabench.plan/1"``): one training run, predicted, with its inputs.

``build_plan`` is the function the CLI (``exabench plan``/``search``) and reports call. Layout
fields left out are chosen by the search; the Plan lists them in ``inputs.chosen_by_search``.
Every assumption carries its kind (measured / published / assumed) and source.

Training time, goodput, interruptions, power, cost, uncertainty and the fabric's size come from
the at-scale models (atscale.py: reliability, power, cost, uncertainty, fabric).
"""

from __future__ import annotations

from dataclasses import asdict, replace
from typing import Any

from exabench.analysis.atscale.sections import scale_sections
from exabench.analysis.planner.flops import active_matmul_params, total_params
from exabench.analysis.planner.layout import Layout, LayoutRequest, check_fixed, check_layout
from exabench.analysis.planner.search import SEARCHED, search, why_best
from exabench.analysis.planner.step import Context, evaluate
from exabench.documents.plan import SCHEMA, Plan
from exabench.errors import UserError
from exabench.workloads.frameworks import KNOBS, PER_LAYER, load_framework

DEFAULT_BATCH_TOKENS = 2**24
"""Assumed tokens per step when no global batch is given: Llama 3 405B's 16M (Dubey et al.
2024, Table 4)."""
CHINCHILLA_TOKENS_PER_PARAM = 20
MFU_CONVENTION = (
    "MFU = model FLOPs per token (6N + 12 L H Q T, PaLM appendix B; N = matrix parameters a token "
    "goes through incl. the output layer, attention without causal halving) x tokens/s / "
    "(GPUs x dense peak of the precision); HFU adds recompute FLOPs"
)
DEFAULT_FRAMEWORK = "megatron"
"""The preset whose knobs a plan assumes when no framework is named (Megatron-Core / NeMo)."""
FRAMEWORK = ("sequence_parallel", "flash_attention", "overlap_dp", "grad_reduce_bytes",
             *(k for k in KNOBS if k not in ("zero", "recompute", "sequence_parallel",
                                             "overlap_dp", "grad_reduce_bytes")))
"""The framework fields of a layout a Plan lists under ``inputs.framework`` (with the preset's
``name``): the preset's knobs but the searched ``zero`` and ``recompute``."""
OVERLAPS = (("tp_comm_overlap", "TP collectives", lambda lo: lo.tp > 1),
            ("overlap_dp", "DP reduce/gather (bucketed)", lambda lo: lo.dp * lo.cp > 1),
            ("pp_comm_overlap", "PP sends", lambda lo: lo.pp > 1),
            ("cp_comm_overlap", "CP ring", lambda lo: lo.cp > 1),
            ("ep_comm_overlap", "EP all-to-all", lambda lo: lo.ep > 1),
            ("fsdp_prefetch", "ZeRO-3 gathers (prefetch)", lambda lo: lo.zero == 3),
            ("cuda_graphs", "kernel launches (CUDA graphs)", lambda lo: True))
"""Overlap knobs, what each hides, and when the layout has that communication at all, for the
Plan's ``why``."""
STEP_FIELDS = (
    "step_time_s", "tokens_per_s_per_gpu", "model_tflops_per_gpu", "mfu", "hfu", "memory",
    "breakdown_s", "layer_ops",
)
"""The fields of a step evaluation a Plan carries at its top level, in this order."""


def base_layout(model: Any, request: LayoutRequest) -> tuple[Layout, list[dict[str, Any]]]:
    """The layout ``request`` fixes over the defaults, and the assumptions those defaults are."""
    seq = request.seq or model.seq_len
    assumptions = []
    if request.seq is None:
        assumptions.append({"name": "seq", "value": seq, "kind": "published",
                            "source": f"model {model.name}: {model.source}"})
    batch = request.global_batch or max(1, round(DEFAULT_BATCH_TOKENS / seq))
    if request.global_batch is None:
        assumptions.append({"name": "global_batch", "value": batch, "kind": "assumed", "source":
                            "16M tokens per step, as Llama 3 405B (Dubey et al. 2024, Table 4)"})
    if model.moe is not None and request.moe_imbalance is None and not request.moe_capacity_factor:
        assumptions.append({"name": "moe_imbalance", "value": 1.0, "kind": "assumed", "source":
                            "balanced routing: every expert gets top_k / experts of the tokens "
                            "(set --moe-imbalance or --moe-capacity-factor)"})
    fields_ = {**request.given(), "seq": seq, "global_batch": batch}
    return replace(Layout(), **fields_), assumptions


def with_framework(request: LayoutRequest) -> tuple[LayoutRequest, list[dict[str, Any]]]:
    """``request`` with the framework knobs it leaves out taken from its preset (megatron when
    it names none), and an assumption for each knob taken, citing the preset's source. The
    searched ``recompute`` stays searched; ``zero`` too, except for a fully sharded framework
    (FSDP), which is ZeRO-3 by definition."""
    preset = load_framework(request.framework or DEFAULT_FRAMEWORK)
    knobs: dict[str, Any] = {}
    assumptions = []
    for key in FRAMEWORK:
        if key == "flash_attention" or getattr(request, key) is not None:
            continue
        value = preset.knobs[key]
        knobs[key] = 0.0 if value == PER_LAYER else value  # 0: one layer per bucket (step.py)
        assumptions.append({"name": key, "value": value, "kind": "published",
                            "source": f"framework {preset.name}: {preset.sources[key]}"})
    if request.zero is None and preset.knobs["zero"] == 3:
        knobs["zero"] = 3
        assumptions.append({"name": "zero", "value": 3, "kind": "published",
                            "source": f"framework {preset.name}: {preset.sources['zero']}"})
    return replace(request, framework=preset.name, **knobs), assumptions


def overlap_text(lo: Layout) -> str:
    """Which communication the plan assumes hidden, and which exposed, in one sentence."""
    used = [(key, text) for key, text, applies in OVERLAPS if applies(lo)]
    on = [text for key, text in used if getattr(lo, key)]
    off = [text for key, text in used if not getattr(lo, key)]
    return (f"{lo.framework} overlaps {', '.join(on) or 'nothing'}"
            f"; exposed: {', '.join(off) or 'nothing'}")


def choose_layouts(ctx: Context, gpus: int, request: LayoutRequest,
                   top: int = 1) -> tuple[list[tuple[Layout, dict]], list[str], list[dict]]:
    """The given layout (checked) or the best ``top`` found by the search; and which fields
    were searched."""
    request, framework = with_framework(request)
    base, assumptions = base_layout(ctx.model, request)
    assumptions += framework
    check_fixed(ctx.model, request, gpus, base)
    tp, pp, cp = request.tp, request.pp, request.cp
    if request.dp is None and tp and pp and cp:  # dp follows from the GPUs
        denom = tp * pp * cp
        if gpus % denom:
            raise UserError(f"gpus = {gpus} is not divisible by tp x pp x cp = {denom}; "
                            "dp would not be an integer")
        request = replace(request, dp=gpus // denom)
    searched = [k for k in SEARCHED
                if getattr(request, k) is None and not (k == "ep" and ctx.model.moe is None)]
    if not searched:
        lo = replace(base, dp=request.dp)
        check_layout(ctx.model, lo, gpus)
        result = evaluate(ctx, lo)
        if not result["memory"]["fits"]:
            mem = result["memory"]
            raise UserError(
                f"layout {lo.describe()} needs {mem['gib_per_gpu']:.1f} GiB per GPU; "
                f"{ctx.profile.name} has {mem['capacity_gib']:.0f} GiB (try full "
                "recompute, a higher ZeRO stage, or more tensor or pipeline parallelism)"
            )
        return [(lo, result)], [], assumptions
    ranked = search(ctx, gpus, request, base, top=top)
    if not ranked:
        fixed = ", ".join(f"{k} = {v}" for k, v in request.given().items()
                          if k in (*SEARCHED, "dp"))
        hint = (_count_hint(ctx, gpus)
                or "try more GPUs, a larger global batch or fewer fixed options")
        raise UserError(f"no layout of {ctx.model.name} on {gpus} x {ctx.profile.name} fits in "
                        f"{ctx.capacity_gib:.0f} GiB per GPU with {fixed or 'any settings'} and "
                        f"global_batch = {base.global_batch}; {hint}")
    return ranked, searched, assumptions


def _count_hint(ctx: Context, gpus: int) -> str | None:
    """For a GPU count no power-of-two batch divides (100,000 = 2^5 x 5^5), the largest count
    below it that one can: node x {1, 3} x 2^a (98,304 = 96 x 1,024 for 100,000)."""
    node = max(1, ctx.cluster.gpus_per_node)
    best = usable_gpus(node, gpus)
    if best is None or best == gpus:
        return None
    return (f"{gpus:,} GPUs split no power-of-two batch evenly: try {best:,} GPUs "
            f"({node} x {best // node:,})")


def usable_gpus(gpus_per_node: int, gpus: int) -> int | None:
    """The largest count <= ``gpus`` of the form node x {1, 3} x 2^a, which a power-of-two
    global batch can split into whole data-parallel replicas; None below one node."""
    node = max(1, gpus_per_node)
    usable = [node * m * 2**a for m in (1, 3) for a in range(40) if node * m * 2**a <= gpus]
    return max(usable, default=None)


LAYOUT_FIELDS = (
    "tp", "pp", "vp", "cp", "ep", "dp", "zero", "mbs", "global_batch", "seq", "precision",
    "recompute",
)
"""The layout fields a Plan lists under ``inputs.layout``, in this order (then ``microbatches``)."""


def model_inputs(model: Any, lo: Layout) -> dict[str, Any]:
    """The model's given fields and its total and active parameters under ``lo``'s TP."""
    return {
        **{k: v for k, v in asdict(model).items() if v is not None},
        "params_total": total_params(model, lo.tp),
        "params_active": active_matmul_params(model, lo.tp),
    }


def hardware_inputs(profile: Any, lo: Layout) -> dict[str, Any]:
    """The GPU profile: its peak at ``lo``'s precision, its memory, and its scale-out link
    when it has one."""
    scaleout = (
        {
            "scaleout_gbps": profile.scaleout_gbps,
            "scaleout_span_gpus": profile.scaleout_span_gpus,
        }
        if profile.scaleout_gbps
        else {}
    )
    return {
        "name": profile.name,
        "run_id": profile.run_id,
        "peak_tflops": profile.peaks.peak(lo.precision),
        "hbm_gib": profile.peaks.capacity_gb,
        "provenance": profile.provenance,
        **scaleout,
    }


def cluster_inputs(cluster: Any) -> dict[str, Any]:
    """The cluster's size, node shape and network, with its source."""
    return {
        "name": cluster.name,
        "gpus": cluster.gpus,
        "gpus_per_node": cluster.gpus_per_node,
        "nvlink_domain": cluster.nvlink_domain,
        "network": asdict(cluster.network),
        "source": cluster.source,
    }


def layout_inputs(lo: Layout) -> dict[str, Any]:
    """``LAYOUT_FIELDS`` of ``lo`` and the microbatches per step they imply."""
    return {**{k: getattr(lo, k) for k in LAYOUT_FIELDS}, "microbatches": lo.microbatches}


def plan_document(
    ctx: Context,
    lo: Layout,
    result: dict[str, Any],
    *,
    gpus: int,
    tokens: float | None,
    searched: list[str],
    assumptions: list[dict[str, Any]],
    why: str | None = None,
) -> Plan:
    """The Plan of ``lo`` on ``gpus`` GPUs: its inputs, the step ``result`` and the at-scale
    sections for ``tokens`` (Chinchilla's 20 per parameter when None, listed as assumed)."""
    assumptions = list(assumptions)
    if tokens is None:
        tokens = CHINCHILLA_TOKENS_PER_PARAM * total_params(ctx.model)
        assumptions.append({"name": "tokens", "value": tokens, "kind": "assumed",
                            "source": "20 tokens per parameter (Chinchilla, Hoffmann et al. 2022)"})
    scale = scale_sections(
        ctx, gpus=gpus, tokens=tokens, tokens_per_s_per_gpu=result["tokens_per_s_per_gpu"]
    )
    doc: Plan = {
        "schema": SCHEMA,
        "inputs": {
            "model": model_inputs(ctx.model, lo),
            "hardware": hardware_inputs(ctx.profile, lo),
            "cluster": cluster_inputs(ctx.cluster),
            "gpus": gpus,
            "layout": layout_inputs(lo),
            "framework": {"name": lo.framework, **{k: getattr(lo, k) for k in FRAMEWORK}},
            "chosen_by_search": searched,
            "assumptions": assumptions,
            "conventions": {"mfu": MFU_CONVENTION},
        },
        **{k: result[k] for k in STEP_FIELDS},
        **scale,
    }
    doc["why"] = f"{why}. {overlap_text(lo)}" if why else overlap_text(lo)
    return doc


def build_plan(*, context: Context, gpus: int, request: LayoutRequest, tokens: float | None = None,
               top: int = 1) -> list[Plan]:
    """Plans for the fixed layout fields of ``request``: one (``top=1``, what ``plan`` prints)
    or the best ``top`` (``search``)."""
    ranked, searched, assumptions = choose_layouts(context, gpus, request, top=max(top, 2))
    why = (
        why_best(ranked) if searched else None
    )  # against the runner-up, even when one plan is asked for
    return [plan_document(context, lo, result, gpus=gpus, tokens=tokens, searched=searched,
                          assumptions=assumptions, why=why if i == 0 else None)
            for i, (lo, result) in enumerate(ranked[:top])]
