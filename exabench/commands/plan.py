"""``exabench plan``: one training plan (step time, MFU, memory, breakdown, time to train)."""

from __future__ import annotations

import io
import json
from typing import Any

import click

from exabench.commands._atscale import apply_economics, attach_run, economics_options
from exabench.commands._planning import fmt_si, planning_options, resolve

CSV_FIELDS = ("model", "hardware", "cluster", "gpus", "tp", "pp", "vp", "cp", "ep", "dp", "zero", "mbs", "global_batch",
              "seq", "precision", "recompute", "step_time_s", "tokens_per_s_per_gpu", "model_tflops_per_gpu", "mfu", "hfu",
              "gib_per_gpu", "fits", "days", "gpu_hours")


@click.command("plan")
@planning_options
@click.option("--days", type=float, default=None,
              help="Size the job instead: the fewest GPUs (up to the cluster's) that train --tokens in D days.")
@economics_options
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
def command(fmt: str, days: float | None, **options: Any) -> None:
    """Predict one training run: step time, throughput, MFU, memory per GPU and time to train.

    Layout options left out (--tp --pp --vp --cp --ep --zero --mbs --recompute) are chosen by
    the search: the fastest layout that fits in memory; the plan says which were chosen.

    \b
    Examples:
      exabench plan --model llama3-405b --cluster meta-24k-roce --gpus 16384 --tp 8 --pp 16 --tokens 15.6T
      exabench plan --model gpt3-175b --hardware a100-sxm --gpus 64 --tp 8 --pp 8 --vp 3 --dp 1 \\
          --mbs 1 --global-batch 64 --zero 0 --recompute selective --format json
      exabench plan --model llama3-70b --cluster dgx-h100 --precision fp8
      exabench plan --model llama3-8b --hardware results/run.json --gpus 8
      exabench plan --model llama3-405b --cluster colossus-100k --tokens 15.6T --days 30
      exabench plan --model llama3-70b --cluster meta-24k-roce --gpus 2048 --pue 1.3 --usd-per-gpu-hour 2.5
    """
    from exabench.analysis.planner.plan import build_plan

    context, gpus, layout, tokens = resolve(options)
    attach_run(context, options.get("hardware"))
    apply_economics(context, options)
    if days is not None:
        from exabench.analysis.planner.scale import gpus_for_days
        from exabench.errors import UserError

        if tokens is None:
            raise UserError("--days needs --tokens (the budget to train in that time)")
        plan = gpus_for_days(context, days=days, tokens=tokens, options=layout, max_gpus=options.get("gpus") or context.cluster.gpus)
    else:
        [plan] = build_plan(context=context, gpus=gpus, options=layout, tokens=tokens)
    if options.get("gpus_note"):
        plan["inputs"]["gpus_note"] = options["gpus_note"]
    if fmt == "json":
        click.echo(json.dumps(plan, indent=2, default=str))
    elif fmt == "csv":
        click.echo(to_csv([plan]), nl=False)
    else:
        click.echo(render_plan(plan))


def csv_row(plan: dict[str, Any]) -> dict[str, Any]:
    inputs, lo = plan["inputs"], plan["inputs"]["layout"]
    row = {"model": inputs["model"]["name"], "hardware": inputs["hardware"]["name"], "cluster": inputs["cluster"]["name"],
           "gpus": inputs["gpus"], **lo, "gib_per_gpu": plan["memory"]["gib_per_gpu"], "fits": plan["memory"]["fits"],
           "days": plan["training"]["days"], "gpu_hours": plan["training"]["gpu_hours"]}
    row.update({k: plan[k] for k in ("step_time_s", "tokens_per_s_per_gpu", "model_tflops_per_gpu", "mfu", "hfu")})
    return {k: row[k] for k in CSV_FIELDS}


def to_csv(plans: list[dict[str, Any]]) -> str:
    import csv

    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for plan in plans:
        writer.writerow(csv_row(plan))
    return out.getvalue()


def layout_text(lo: dict[str, Any]) -> str:
    pp = f"PP{lo['pp']}" + (f"x{lo['vp']}" if lo["vp"] > 1 else "")
    return (f"TP{lo['tp']} {pp} CP{lo['cp']} EP{lo['ep']} DP{lo['dp']} ZeRO-{lo['zero']} mbs {lo['mbs']} "
            f"recompute {lo['recompute']} {lo['precision']}")


def render_plan(plan: dict[str, Any]) -> str:
    inputs, mem, tr = plan["inputs"], plan["memory"], plan["training"]
    hw = inputs["hardware"]
    step = plan["step_time_s"]
    chosen = inputs["chosen_by_search"]
    lines = [
        f"exabench plan: {inputs['model']['name']} on {inputs['gpus']:,} x {hw['name']}"
        + (f" (measured Run {hw['run_id']})" if hw.get("run_id") else "") + f", cluster {inputs['cluster']['name']}",
        *([f"  gpus         {inputs['gpus_note']}"] if inputs.get("gpus_note") else []),
        f"  layout       {layout_text(inputs['layout'])}, {inputs['layout']['microbatches']} micro-batches of "
        f"{inputs['layout']['seq']} tokens x {inputs['layout']['mbs']}" + (f"  (chosen by search: {', '.join(chosen)})" if chosen else ""),
        f"  step time    {step:.3f} s    tokens/s/GPU {plan['tokens_per_s_per_gpu']:,.0f}    "
        f"model TFLOP/s/GPU {plan['model_tflops_per_gpu']:.0f}",
        f"  MFU          {plan['mfu']:.1%} (HFU {plan['hfu']:.1%}) of the dense {inputs['layout']['precision']} peak "
        f"{hw['peak_tflops']:.0f} TFLOP/s",
        f"  memory       {mem['gib_per_gpu']:.1f} GiB of {mem['capacity_gib']:.0f} GiB per GPU ({'fits' if mem['fits'] else 'DOES NOT FIT'}): "
        + ", ".join(f"{k} {v:.1f}" for k, v in mem["parts"].items()),
        "  breakdown    " + ", ".join(f"{k} {v:.3g} s ({v / step:.0%})" for k, v in plan["breakdown_s"].items() if v > 0),
        f"  training     {fmt_si(tr['tokens'])} tokens: {tr['days']:.1f} days, {fmt_si(tr['gpu_hours'])} GPU-hours, goodput "
        f"{tr['goodput']:.2f}" + (f" ({tr['interruptions_per_day']:.1f} interruptions/day, MTBF {tr['mtbf_hours'] * 60:.0f} min, "
                                  f"checkpoint {fmt_si(tr['checkpoint_bytes'], 'B')} in {tr['checkpoint_write_s']:.1f} s every "
                                  f"{tr['checkpoint_interval_s'] / 60:.1f} min)" if tr.get("mtbf_hours", float("inf")) != float("inf") else ""),
        f"  power        IT {plan['power']['it_mw']:.2f} MW, facility {plan['power']['facility_mw']:.2f} MW "
        f"(rated {plan['power'].get('facility_mw_rated', 0):.2f}), {plan['power']['energy_mwh']:,.0f} MWh, "
        f"{plan['power'].get('emissions_tco2', 0):,.0f} t CO2 (GPU {plan['power']['kind']})",
    ]
    if plan["cost"].get("usd") is not None:
        cost = plan["cost"]
        lines.append(f"  cost         ${fmt_si(cost['usd'])} owned at TCO ${cost['usd_per_gpu_hour']:.2f}/GPU-h"
                     + (f"; ${fmt_si(cost['usd_rented'])} rented at ${cost['rental_usd_per_gpu_hour']:.2f}/GPU-h" if cost.get("usd_rented") is not None else ""))
    unc = plan.get("uncertainty") or {}
    if unc.get("days"):
        lines.append("  P10/P50/P90  " + ", ".join(
            f"{label} {fmt_si(unc[k]['p10'])}/{fmt_si(unc[k]['p50'])}/{fmt_si(unc[k]['p90'])}"
            for k, label in (("days", "days"), ("facility_mw", "MW"), ("usd", "$")) if unc.get(k)))
        top = [s for s in unc.get("sensitivity", [])][:3]
        if top:
            lines.append("  sensitivity  " + "; ".join(f"{s['input']} -> {s['metric']} {s['low']:+.0%}/{s['high']:+.0%}" for s in top))
    if plan.get("why"):
        lines.append(f"  why          {plan['why']}")
    lines.append("  MFU counts model FLOPs only (6N + 12LHQT, PaLM appendix B) at the dense peak of the precision.")
    return "\n".join(lines)
