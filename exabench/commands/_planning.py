"""Options and input resolution shared by ``exabench plan``, ``search`` and ``scale``.

Not a command module. The click edge is here: the parsed options become a typed
:class:`PlanTarget` (what to plan on) and a :class:`LayoutRequest` (the layout fields fixed),
once; the planner takes those, never the CLI's dict. Library errors name the field they are
about (``tp = 3 must divide ...``); :func:`flag_names` names the flag instead, in one place.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import click

from exabench.analysis.measured import load_profile
from exabench.analysis.planner.layout import DEFAULT_PRECISION, LayoutRequest
from exabench.analysis.planner.plan import usable_gpus
from exabench.analysis.planner.step import Context
from exabench.errors import UserError, one_of
from exabench.workloads.clusters import MAX_GPUS, load_cluster, single_node
from exabench.workloads.frameworks import KNOBS, PER_LAYER, check_knob, framework_names
from exabench.workloads.models import load_model

LAYOUT_OPTIONS = ("tp", "pp", "vp", "cp", "ep", "dp", "zero", "mbs", "global_batch", "seq",
                  "precision", "recompute", "moe_capacity_factor", "moe_imbalance")
"""The :class:`LayoutRequest` fields the command line sets (the framework ones it leaves)."""
FLAGS = {name: f"--{name.replace('_', '-')}" for name in (*LAYOUT_OPTIONS, "gpus", "gpus_per_node",
                                                           "tokens", "days", "points")}
"""Field -> flag, for errors that name a field the user gave as an option."""
SUFFIXES = {"": 1.0, "K": 1e3, "M": 1e6, "B": 1e9, "G": 1e9, "T": 1e12, "P": 1e15}


@dataclass(kw_only=True, frozen=True, slots=True)
class PlanTarget:
    """What to plan on, as the options name it: a model, a GPU, a cluster, a GPU count."""

    model: str
    """Model name or TOML path."""
    hardware: str | None = None
    """GPU profile name, hardware TOML or Run JSON (default: the cluster's GPU, else h100-sxm)."""
    cluster: str | None = None
    """Cluster name or TOML (default: one node of the hardware)."""
    gpus: int | None = None
    """GPUs in the job (default: the cluster's, or one node)."""
    gpus_per_node: int | None = None
    """GPUs per node and NVLink domain (default: the cluster's, else 8)."""
    tokens: float | None = None
    """Training tokens (default: 20 per parameter)."""


@dataclass(kw_only=True, frozen=True, slots=True)
class Resolved:
    """A :class:`PlanTarget` loaded: the planner's context and the GPU count to plan on."""

    context: Context
    gpus: int
    gpus_note: str | None = None
    """Why ``gpus`` is fewer than the cluster's, when it is (the Plan repeats it)."""


def parse_tokens(text: str | None) -> float | None:
    """``1.5e13``, ``15T``, ``300B``, ``2.5M`` or a plain integer; a one-line UserError
    otherwise."""
    if text is None:
        return None
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([kKmMbBgGtTpP]?)\s*",
                         str(text))
    if not match:
        raise UserError(f"--tokens {text!r} is not a token count; write e.g. 1.5e13, 15T, 300B "
                        "or 2000000000")
    value = float(match.group(1)) * SUFFIXES[match.group(2).upper()]
    if not 0 < value < 1e30:  # 1e400 parses as infinity; no corpus is within orders of 1e30
        raise UserError(f"--tokens {text!r} must be positive and below 1e30; write e.g. 15T")
    return value


@contextmanager
def flag_names(flags: Mapping[str, str] = FLAGS) -> Iterator[None]:
    """Errors that start with the field they are about (``tp = 3 must divide ...``, as
    :mod:`exabench.analysis.planner.layout` phrases them) name its flag instead
    (``--tp = 3 must divide ...``): on the command line the user wrote the flag."""
    try:
        yield
    except UserError as error:
        field, sep, rest = error.message.partition(" = ")
        if sep and field in flags:
            raise UserError(f"{flags[field]} = {rest}") from None
        raise


def planning_options(fn: Callable) -> Callable:
    """The options of ``plan`` and ``search``, handed to ``fn`` typed, as
    ``target=PlanTarget(...)`` and ``request=LayoutRequest(...)``."""
    pos = click.IntRange(min=1)
    gpus = click.IntRange(min=1, max=MAX_GPUS)
    options = [
        ("--model", None, "Model name (see `exabench catalog`) or a model TOML."),
        ("--hardware", None, "GPU profile name, a hardware TOML, or a Run JSON (measured)."),
        ("--cluster", None, "Cluster name or TOML; brings its GPU and size unless given."),
        ("--gpus", gpus, "GPUs in the job (default: the cluster's, or one node)."),
        ("--gpus-per-node", gpus, "GPUs per node and NVLink domain."),
        ("--tp", pos, "Tensor-parallel degree."),
        ("--pp", pos, "Pipeline stages (uneven layer splits allowed)."),
        ("--vp", pos, "Virtual pipeline chunks per stage (interleaving)."),
        ("--cp", pos, "Context-parallel degree."),
        ("--ep", pos, "Expert-parallel degree (MoE)."),
        ("--dp", pos, "Data-parallel degree (inferred when absent)."),
        ("--zero", click.IntRange(0, 3), "ZeRO stage 0-3."),
        ("--mbs", pos, "Sequences per micro-batch."),
        ("--global-batch", pos, "Sequences per step (default: 16M tokens)."),
        ("--seq", pos, "Sequence length (default: the model's)."),
        ("--precision", click.Choice(["bf16", "fp8"]), "Training precision (default bf16)."),
        ("--recompute", click.Choice(["none", "selective", "full"]), "Activation recompute."),
        ("--moe-capacity-factor", click.FloatRange(min=0, max=64), "MoE: expert capacity over "
                                  "the balanced load, experts padded to it (0: dropless)."),
        ("--moe-imbalance", click.FloatRange(min=1, max=64), "MoE, dropless: the busiest "
                            "expert's tokens over the balanced load (default 1.0)."),
        ("--tokens", None, "Training tokens: 1.5e13 or 15T (default: 20 per parameter)."),
        ("--framework", None, "Framework preset whose overlaps, kernels and defaults the plan "
                              f"assumes: {', '.join(framework_names())} or a TOML (default "
                              "megatron)."),
    ]

    @functools.wraps(fn)
    def typed(**values):
        request = LayoutRequest(**{name: values.pop(name) for name in LAYOUT_OPTIONS},
                                framework=values.pop("framework"),
                                **parse_settings(values.pop("settings")))
        target = PlanTarget(model=values.pop("model"), hardware=values.pop("hardware"),
                            cluster=values.pop("cluster"), gpus=values.pop("gpus"),
                            gpus_per_node=values.pop("gpus_per_node"),
                            tokens=parse_tokens(values.pop("tokens")))
        return fn(target=target, request=request, **values)

    for flag, kind, text in reversed(options):
        option = click.option(flag, type=kind, required=flag == "--model", help=text)
        typed = option(typed)
    return click.option("--set", "settings", multiple=True, metavar="KNOB=VALUE",
                        help="Override one framework knob (repeatable): "
                             f"{', '.join(KNOBS)}; e.g. --set tp_comm_overlap=false.")(typed)


def parse_settings(items: tuple[str, ...]) -> dict[str, Any]:
    """``--set KNOB=VALUE`` pairs as layout fields: booleans as true/false, numbers as numbers,
    each checked as the framework presets check it; a one-line UserError otherwise."""
    out: dict[str, Any] = {}
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip().replace("-", "_")
        if name in ("zero", "recompute"):
            raise UserError(f"--set {item!r}: {name} has its own option; use --{name}")
        if name not in KNOBS:
            raise UserError(f"--set {item!r}: {one_of(name, list(KNOBS), name='knob')}; "
                            "write KNOB=VALUE, e.g. --set tp_comm_overlap=false")
        if not sep:
            raise UserError(f"--set {item!r} has no value; write {name}=VALUE, e.g. "
                            f"--set {name}=false")
        value: Any = text.strip()
        if value.lower() in ("true", "false", "on", "off", "yes", "no"):
            value = value.lower() in ("true", "on", "yes")
        else:
            try:
                value = int(value)
            except ValueError:
                try:
                    value = float(value)
                except ValueError:
                    pass
        value = check_knob(f"--set {name}", name, value)
        out[name] = 0.0 if value == PER_LAYER else value
    return out


def resolve(target: PlanTarget, request: LayoutRequest) -> Resolved:
    """Load the model, GPU profile and cluster ``target`` names; the GPUs to plan on."""
    model = load_model(target.model)
    cluster = load_cluster(target.cluster) if target.cluster else None
    gpu = cluster.gpu if cluster else "h100-sxm"
    profile = load_profile(target.hardware or gpu, default=gpu)
    per_node = target.gpus_per_node
    if cluster is None:
        cluster = single_node(profile.name, per_node or 8)
        gpus = target.gpus or cluster.gpus_per_node
    else:
        if per_node:
            cluster = replace(cluster, gpus_per_node=per_node, nvlink_domain=per_node)
        gpus = target.gpus or cluster.gpus
        if gpus > cluster.gpus:
            raise UserError(f"--gpus {gpus} exceeds the {cluster.gpus} GPUs of cluster "
                            f"{cluster.name}")
    cluster = replace(cluster, gpus=max(cluster.gpus, gpus))
    note = None
    if target.cluster and not target.gpus and not request.global_batch:
        # A cluster's own size may split no power-of-two batch (100,000 = 2^5 x 5^5): plan on the
        # largest part of it that one can, and say so, rather than fail.
        usable = usable_gpus(cluster.gpus_per_node, gpus)
        if usable and usable != gpus:
            note = (f"{usable:,} of the cluster's {gpus:,} GPUs: the largest count a power-of-two "
                    f"global batch splits evenly (give --gpus or --global-batch to choose)")
            gpus = usable
    profile.peak_flops(request.precision or DEFAULT_PRECISION)  # a precision the GPU lacks: early
    return Resolved(context=Context(model, profile, cluster), gpus=gpus, gpus_note=note)
