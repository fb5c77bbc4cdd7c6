"""``exabench search``: the best parallel layouts of a model on a cluster, ranked."""

from __future__ import annotations

import json
from typing import Any

import click

from exabench.commands._planning import planning_options, resolve


@click.command("search")
@planning_options
@click.option("--top", type=click.IntRange(min=1), default=10, show_default=True, help="How many layouts to list.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def command(fmt: str, top: int, **options: Any) -> None:
    """Enumerate valid layouts (TP within the NVLink domain, PP over the layers, CP, EP, DP,
    micro-batch, recompute, ZeRO), drop those that don't fit in memory, rank by throughput.

    Options given fix that part of the layout; the rest is searched.

    \b
    Examples:
      exabench search --model llama3-405b --cluster meta-24k-roce --gpus 16384
      exabench search --model mixtral-8x7b --cluster dgx-h100 --top 5
      exabench search --model gpt3-175b --cluster colossus-100k --gpus 4096 --format json
    """
    from exabench.analysis.planner.plan import build_plan
    from exabench.commands.plan import layout_text

    context, gpus, layout, tokens = resolve(options)
    plans = build_plan(context=context, gpus=gpus, options=layout, tokens=tokens, top=top)
    for plan in plans:
        if options.get("gpus_note"):
            plan["inputs"]["gpus_note"] = options["gpus_note"]
    if fmt == "json":
        click.echo(json.dumps({"layouts": plans}, indent=2, default=str))
        return
    first = plans[0]["inputs"]
    click.echo(f"exabench search: {first['model']['name']} on {gpus:,} x {first['hardware']['name']}, "
               f"cluster {first['cluster']['name']}, global batch {first['layout']['global_batch']} x {first['layout']['seq']} tokens")
    if options.get("gpus_note"):
        click.echo(f"gpus: {options['gpus_note']}")
    head = f"{'#':>3}  {'layout':<58} {'step (s)':>9} {'tok/s/GPU':>10} {'MFU':>6} {'GiB/GPU':>8}"
    click.echo(head)
    for i, plan in enumerate(plans, 1):
        click.echo(f"{i:>3}  {layout_text(plan['inputs']['layout']):<58} {plan['step_time_s']:>9.3f} "
                   f"{plan['tokens_per_s_per_gpu']:>10,.0f} {plan['mfu']:>6.1%} {plan['memory']['gib_per_gpu']:>8.1f}")
    if plans[0].get("why"):
        click.echo(f"why: {plans[0]['why']}")
