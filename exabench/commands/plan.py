"""``exabench plan``: one training plan (step time, MFU, memory, breakdown, time to train)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import click

from exabench.analysis.planner.layout import LayoutRequest
from exabench.analysis.planner.plan import LAYOUT_FIELDS, build_plan
from exabench.analysis.planner.scale import gpus_for_days
from exabench.commands._atscale import apply_economics, attach_run, economics_options
from exabench.commands._planning import PlanTarget, flag_names, planning_options, resolve
from exabench.errors import UserError
from exabench.reports.terminal import plan_text

CSV_FIELDS = (
    "model",
    "hardware",
    "cluster",
    "gpus",
    *LAYOUT_FIELDS,
    "step_time_s",
    "tokens_per_s_per_gpu",
    "model_tflops_per_gpu",
    "mfu",
    "hfu",
    "gib_per_gpu",
    "fits",
    "days",
    "gpu_hours",
)


@click.command("plan")
@planning_options
@click.option(
    "--days",
    type=float,
    default=None,
    help=(
        "Size the job instead: the fewest GPUs (up to the cluster's) that train --tokens in D days."
    ),
)
@economics_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv"]),
    default="table",
    show_default=True,
)
def command(fmt: str, days: float | None, target: PlanTarget, request: LayoutRequest,
            **economics: Any) -> None:
    """Predict one training run: step time, throughput, MFU, memory per GPU and time to train.

    Layout options left out (--tp --pp --vp --cp --ep --zero --mbs --recompute) are chosen by
    the search: the fastest layout that fits in memory; the plan says which were chosen.

    \b
    Examples:
      exabench plan --model llama3-405b --cluster meta-24k-roce --gpus 16384 --tp 8 --pp 16 \\
          --tokens 15.6T
      exabench plan --model gpt3-175b --hardware a100-sxm --gpus 64 --tp 8 --pp 8 --vp 3 --dp 1 \\
          --mbs 1 --global-batch 64 --zero 0 --recompute selective --format json
      exabench plan --model llama3-70b --cluster dgx-h100 --precision fp8
      exabench plan --model llama3-8b --hardware results/run.json --gpus 8
      exabench plan --model llama3-405b --cluster colossus-100k --tokens 15.6T --days 30
      exabench plan --model llama3-70b --cluster meta-24k-roce --gpus 2048 \\
          --pue 1.3 --usd-per-gpu-hour 2.5
    """
    if days is not None and target.tokens is None:
        raise UserError("--days needs --tokens (the budget to train in that time)")
    with flag_names():
        setup = resolve(target, request)
        attach_run(setup.context, target.hardware)
        apply_economics(setup.context, economics)
        if days is not None:
            plan = gpus_for_days(setup.context, days=days, tokens=target.tokens, request=request,
                                 max_gpus=target.gpus or setup.context.cluster.gpus)
        else:
            [plan] = build_plan(
                context=setup.context, gpus=setup.gpus, request=request, tokens=target.tokens
            )
    if setup.gpus_note:
        plan["inputs"]["gpus_note"] = setup.gpus_note
    if fmt == "json":
        click.echo(json.dumps(plan, indent=2, default=str))
    elif fmt == "csv":
        click.echo(to_csv([plan]), nl=False)
    else:
        click.echo(plan_text(plan))


def csv_row(plan: dict[str, Any]) -> dict[str, Any]:
    inputs, lo = plan["inputs"], plan["inputs"]["layout"]
    row = {
        "model": inputs["model"]["name"],
        "hardware": inputs["hardware"]["name"],
        "cluster": inputs["cluster"]["name"],
        "gpus": inputs["gpus"],
        **lo,
        "gib_per_gpu": plan["memory"]["gib_per_gpu"],
        "fits": plan["memory"]["fits"],
        "days": plan["training"]["days"],
        "gpu_hours": plan["training"]["gpu_hours"],
    }
    row.update({
        k: plan[k]
        for k in ("step_time_s", "tokens_per_s_per_gpu", "model_tflops_per_gpu", "mfu", "hfu")
    })
    return {k: row[k] for k in CSV_FIELDS}


def to_csv(plans: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for plan in plans:
        writer.writerow(csv_row(plan))
    return out.getvalue()
