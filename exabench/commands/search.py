"""``exabench search``: the best parallel layouts of a model on a cluster, ranked."""

from __future__ import annotations

import json

import click

from exabench.analysis.planner.layout import LayoutRequest
from exabench.analysis.planner.plan import build_plan
from exabench.commands._planning import PlanTarget, flag_names, planning_options, resolve
from exabench.reports.terminal import search_text


@click.command("search")
@planning_options
@click.option(
    "--top",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="How many layouts to list.",
)
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
def command(fmt: str, top: int, target: PlanTarget, request: LayoutRequest) -> None:
    """Enumerate valid layouts (TP within the NVLink domain, PP over the layers, CP, EP, DP,
    micro-batch, recompute, ZeRO), drop those that don't fit in memory, rank by throughput.

    Options given fix that part of the layout; the rest is searched.

    \b
    Examples:
      exabench search --model llama3-405b --cluster meta-24k-roce --gpus 16384
      exabench search --model mixtral-8x7b --cluster dgx-h100 --top 5
      exabench search --model gpt3-175b --cluster colossus-100k --gpus 4096 --format json
    """
    with flag_names():
        setup = resolve(target, request)
        plans = build_plan(
            context=setup.context, gpus=setup.gpus, request=request, tokens=target.tokens, top=top
        )
    for plan in plans:
        if setup.gpus_note:
            plan["inputs"]["gpus_note"] = setup.gpus_note
    if fmt == "json":
        click.echo(json.dumps({"layouts": plans}, indent=2, default=str))
    else:
        click.echo(search_text(plans))
