"""Options and input resolution shared by ``exabench plan`` and ``exabench search``.

Not a command module (not in COMMAND_MODULES). Imports only click at the top; the planner is
imported inside the functions so ``exabench --help`` stays light.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import click

from exabench.errors import UserError

LAYOUT_OPTIONS = ("tp", "pp", "vp", "cp", "ep", "dp", "zero", "mbs", "global_batch", "seq", "precision", "recompute")
MAX_GPUS = 10_000_000  # as exabench.workloads.clusters.MAX_GPUS: beyond it a count is a typo
SUFFIXES = {"": 1.0, "K": 1e3, "M": 1e6, "B": 1e9, "G": 1e9, "T": 1e12, "P": 1e15}


def parse_tokens(text: str | None) -> float | None:
    """``1.5e13``, ``15T``, ``300B``, ``2.5M`` or a plain integer; a one-line UserError otherwise."""
    if text is None:
        return None
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([kKmMbBgGtTpP]?)\s*", str(text))
    if not match:
        raise UserError(f"--tokens {text!r} is not a token count; write e.g. 1.5e13, 15T, 300B or 2000000000")
    value = float(match.group(1)) * SUFFIXES[match.group(2).upper()]
    if not 0 < value < 1e30:  # 1e400 parses as infinity; no corpus is within orders of magnitude of 1e30
        raise UserError(f"--tokens {text!r} must be positive and below 1e30; write e.g. 15T")
    return value


def planning_options(fn: Callable) -> Callable:
    """The options of ``plan`` and ``search``."""
    pos = click.IntRange(min=1)
    gpu_count = click.IntRange(min=1, max=MAX_GPUS)
    decorators = [
        click.option("--model", required=True, help="Model name (see `exabench catalog`) or a model TOML."),
        click.option("--hardware", default=None, help="GPU profile name, a hardware TOML, or a Run JSON (measured)."),
        click.option("--cluster", default=None, help="Cluster name or TOML; brings its GPU and size unless given."),
        click.option("--gpus", type=gpu_count, default=None, help="GPUs in the job (default: the cluster's, or one node)."),
        click.option("--gpus-per-node", type=gpu_count, default=None, help="GPUs per node and NVLink domain."),
        click.option("--tp", type=pos, default=None, help="Tensor-parallel degree."),
        click.option("--pp", type=pos, default=None, help="Pipeline stages (uneven layer splits allowed)."),
        click.option("--vp", type=pos, default=None, help="Virtual pipeline chunks per stage (interleaving)."),
        click.option("--cp", type=pos, default=None, help="Context-parallel degree."),
        click.option("--ep", type=pos, default=None, help="Expert-parallel degree (MoE)."),
        click.option("--dp", type=pos, default=None, help="Data-parallel degree (inferred when absent)."),
        click.option("--zero", type=click.IntRange(0, 3), default=None, help="ZeRO stage 0-3."),
        click.option("--mbs", type=pos, default=None, help="Sequences per micro-batch."),
        click.option("--global-batch", type=pos, default=None, help="Sequences per step (default: 16M tokens)."),
        click.option("--seq", type=pos, default=None, help="Sequence length (default: the model's)."),
        click.option("--precision", type=click.Choice(["bf16", "fp8"]), default=None, help="Training precision (default bf16)."),
        click.option("--recompute", type=click.Choice(["none", "selective", "full"]), default=None, help="Activation recompute."),
        click.option("--tokens", default=None, help="Training tokens: 1.5e13 or 15T (default: 20 per parameter)."),
    ]
    for decorator in reversed(decorators):
        fn = decorator(fn)
    return fn


def resolve(options: dict[str, Any]) -> tuple[Any, int, dict[str, Any], float | None]:
    """(planner context, GPUs, layout options, tokens) from the CLI options."""
    from dataclasses import replace

    from exabench.analysis.measured import load_profile
    from exabench.analysis.planner.step import Context
    from exabench.workloads.clusters import load_cluster, single_node
    from exabench.workloads.models import load_model

    tokens = parse_tokens(options.get("tokens"))
    model = load_model(options["model"])
    cluster = load_cluster(options["cluster"]) if options.get("cluster") else None
    hardware = options.get("hardware") or (cluster.gpu if cluster else "h100-sxm")
    profile = load_profile(hardware, default=cluster.gpu if cluster else "h100-sxm")
    per_node = options.get("gpus_per_node")
    if cluster is None:
        cluster = single_node(profile.name, per_node or 8)
        gpus = options.get("gpus") or cluster.gpus_per_node
    else:
        if per_node:
            cluster = replace(cluster, gpus_per_node=per_node, nvlink_domain=per_node)
        gpus = options.get("gpus") or cluster.gpus
        if gpus > cluster.gpus:
            raise UserError(f"--gpus {gpus} exceeds the {cluster.gpus} GPUs of cluster {cluster.name}")
    cluster = replace(cluster, gpus=max(cluster.gpus, gpus))
    layout = {k: options[k] for k in LAYOUT_OPTIONS if options.get(k) is not None}
    options["gpus_note"] = None
    if options.get("cluster") and not options.get("gpus") and not options.get("global_batch"):
        # A cluster's own size may split no power-of-two batch (100,000 = 2^5 x 5^5): plan on the
        # largest part of it that one can, and say so, rather than fail.
        from exabench.analysis.planner.plan import usable_gpus

        usable = usable_gpus(cluster.gpus_per_node, gpus)
        if usable and usable != gpus:
            options["gpus_note"] = (f"{usable:,} of the cluster's {gpus:,} GPUs: the largest count a power-of-two "
                                    f"global batch splits evenly (give --gpus or --global-batch to choose)")
            gpus = usable
    if options.get("precision") is None:
        layout["precision"] = "bf16"
    profile.peak_flops(layout["precision"])  # a precision the GPU lacks is a user error, early
    return Context(model, profile, cluster), gpus, layout, tokens


def fmt_si(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    # Counts read "15T tokens", "405B parameters"; units take SI prefixes: "988 GB", not "988BB".
    prefixes = ((1e15, "P"), (1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")) if not unit else \
        ((1e15, " P"), (1e12, " T"), (1e9, " G"), (1e6, " M"), (1e3, " k"))
    for factor, suffix in prefixes:
        if abs(value) >= factor:
            return f"{value / factor:.3g}{suffix}{unit}"
    return f"{value:.3g}{unit}"
