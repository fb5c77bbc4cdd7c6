"""``exabench scale``: the scaling curve of a model on a cluster, 8 GPUs to the whole cluster,
with the best layout at each size; the fabric it needs and the collective bandwidth vs nodes."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import click

from exabench.analysis.planner.fabric import size_fabric
from exabench.analysis.planner.layout import LayoutRequest
from exabench.analysis.planner.scale import scaling_curve
from exabench.analysis.planner.step import Context
from exabench.commands._atscale import apply_economics, attach_run, economics_options
from exabench.commands._planning import PlanTarget, flag_names, parse_tokens, resolve
from exabench.reports.terminal import scale_text
from exabench.workloads.clusters import MAX_GPUS

FIELDS = (
    "gpus",
    "layout",
    "global_batch",
    "tokens_per_s",
    "tokens_per_s_per_gpu",
    "mfu",
    "efficiency",
    "goodput",
    "days",
    "gpu_hours",
    "usd_per_million_tokens",
    "facility_mw",
)


@click.command("scale")
@click.option("--model", required=True, help="Model name (see `exabench catalog`) or a model TOML.")
@click.option(
    "--cluster", required=True, help="Cluster name or TOML (its GPU and size set the curve's end)."
)
@click.option(
    "--hardware",
    default=None,
    help="GPU profile name, hardware TOML or Run JSON (default: the cluster's GPU).",
)
@click.option(
    "--points",
    type=click.IntRange(min=2, max=60),
    default=20,
    show_default=True,
    help="GPU counts on the curve.",
)
@click.option(
    "--min-gpus",
    type=click.IntRange(min=1, max=MAX_GPUS),
    default=8,
    show_default=True,
    help="Smallest GPU count.",
)
@click.option(
    "--max-gpus",
    type=click.IntRange(min=1, max=MAX_GPUS),
    default=None,
    help="Largest GPU count (default: the cluster's).",
)
@click.option(
    "--tokens",
    default=None,
    help="Training tokens for days and GPU-hours: 1.5e13 or 15T (default: 20 per parameter).",
)
@click.option(
    "--global-batch",
    type=click.IntRange(min=1),
    default=None,
    help="Sequences per step (default: 16M tokens, doubled where nothing fits).",
)
@click.option("--precision", type=click.Choice(["bf16", "fp8"]), default="bf16", show_default=True)
@economics_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv"]),
    default="table",
    show_default=True,
)
def command(
    model: str,
    cluster: str,
    hardware: str | None,
    points: int,
    min_gpus: int,
    max_gpus: int | None,
    tokens: str | None,
    global_batch: int | None,
    precision: str,
    fmt: str,
    **economics: Any,
) -> None:
    """Scaling curve: tokens/s, MFU, scaling efficiency, days and $ per million tokens from
    8 GPUs to the cluster's size, each point with its best layout (searched).

    GPU counts are node x 2^a or node x 3 x 2^a (a 100,000-GPU cluster ends at 98,304).
    Efficiency is per-GPU throughput against the best point of the curve.

    \b
    Examples:
      exabench scale --model llama3-405b --cluster colossus-100k --tokens 15.6T
      exabench scale --model llama3-70b --cluster meta-24k-roce --points 10 --format csv
      exabench scale --model gpt3-175b --cluster colossus-100k --pue 1.3 --format json
    """
    target = PlanTarget(
        model=model, cluster=cluster, hardware=hardware, tokens=parse_tokens(tokens)
    )
    request = LayoutRequest(precision=precision, global_batch=global_batch)
    with flag_names():
        context = resolve(target, request).context
        attach_run(context, hardware)
        apply_economics(context, economics)
        end = max_gpus or context.cluster.gpus
        rows = scaling_curve(
            context,
            points=points,
            max_gpus=end,
            min_gpus=min_gpus,
            request=request,
            tokens=target.tokens,
        )
    fabric = size_fabric(context.cluster, end).as_dict()
    click.echo(_render(fmt, context, rows, fabric), nl=fmt != "csv")


def _render(fmt: str, context: Context, rows: list[dict[str, Any]], fabric: dict[str, Any]) -> str:
    """The curve as JSON (with the fabric), CSV (:data:`FIELDS`, ending in a newline) or the
    terminal table."""
    if fmt == "json":
        return json.dumps(
            {
                "model": context.model.name,
                "cluster": context.cluster.name,
                "hardware": context.profile.name,
                "rows": rows,
                "fabric": fabric,
            },
            indent=2,
            default=str,
        )
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=FIELDS, lineterminator="\n", extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: row.get(k) for k in FIELDS})
        return out.getvalue()
    return scale_text(context.model.name, context.profile.name, context.cluster.name, rows, fabric)
