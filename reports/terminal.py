"""What the terminal shows of Runs and Plans: the one rendering of a Plan (``exabench plan``,
and the summary ``exabench run`` prints at its end: what was measured, what the plan assumed and
on which profile, the plan, and where the files are)."""

from __future__ import annotations

import math
from typing import Any

from exabench.analysis.planner.layout import describe_layout
from exabench.reports.fmt import count, num, si
from exabench.reports.tidy.runs import LINK_KERNELS

# The headline metric of each suite: (metric key, unit, label).
HEADLINES = {
    "gemm": ("tflops", "TFLOP/s", "best GEMM"),
    "memory": ("gbps", "GB/s", "memory (largest)"),
    "collectives": ("busbw_gbps", "GB/s busbw", "best collective"),
}


def _key(suite: str, params: dict[str, Any], name: str) -> str:
    if suite == "gemm":
        return str(params.get("dtype"))
    if params.get("kernel") in LINK_KERNELS:  # one figure per direction: "both" sums two
        return f"{'host' if params['kernel'] == 'host_copy' else 'peer'} {params.get('direction')}"
    return str(params.get("kernel") or params.get("collective") or name)


def _rank(suite: str, params: dict[str, Any], value: float) -> tuple[float, float]:
    """What "best" means: the highest figure, except for the memory kernels, whose figure is
    that of their largest array: the device memory's bandwidth, not a cache's (the report's
    table shows every size)."""
    if suite == "memory" and params.get("kernel") not in LINK_KERNELS:
        return (float(params.get("bytes") or 0), value)
    return (0.0, value)


def _best(results: list[dict[str, Any]], suite: str, metric: str) -> dict[str, dict[str, Any]]:
    """The headline ok result of ``suite`` per dtype / kernel / link direction / collective."""
    best: dict[str, dict[str, Any]] = {}
    for r in results:
        if r.get("suite") != suite or r.get("status") != "ok":
            continue
        value = (r.get("metrics") or {}).get(metric)
        if value is None:
            continue
        params = r.get("params") or {}
        key = _key(suite, params, r["name"])
        if key not in best or _rank(suite, params, value) > _rank(
            suite, best[key].get("params") or {}, best[key]["metrics"][metric]
        ):
            best[key] = r
    return best


def measured_lines(run: dict[str, Any]) -> list[str]:
    results = run.get("results") or []
    lines = []
    for suite, (metric, unit, label) in HEADLINES.items():
        best = _best(results, suite, metric)
        if not best:
            continue
        parts = []
        for key, r in sorted(best.items()):
            peak = (r.get("metrics") or {}).get("pct_of_peak")
            parts.append(
                f"{key} {num(r['metrics'][metric], unit)}"
                + (f" ({peak:.0f} % of peak)" if peak else "")
            )
        lines.append(f"  {label:<16} " + ", ".join(parts))
    statuses = [r.get("status") for r in results]
    lines.append(
        f"  results          {statuses.count('ok')} ok, {statuses.count('failed')} failed, "
        f"{statuses.count('skipped')} skipped (skipped: what this device can't run)"
    )
    return lines


def _labelled(width: int, rows: list[tuple[str, str]]) -> list[str]:
    return [f"  {label:<{width}} {text}" for label, text in rows]


def plan_title(plan: dict[str, Any]) -> str:
    """``llama3-70b on 1,024 x h100-sxm, cluster h100-sxm-nodes``: what was planned."""
    inputs = plan["inputs"]
    hw = inputs["hardware"]
    return (f"{inputs['model']['name']} on {inputs['gpus']:,} x {hw['name']}"
            + (f" (measured Run {hw['run_id']})" if hw.get("run_id") else "")
            + f", cluster {inputs['cluster']['name']}")


def _layout_row(inputs: dict[str, Any]) -> str:
    layout, chosen = inputs["layout"], inputs["chosen_by_search"]
    text = (f"{describe_layout(layout)}, {layout['microbatches']} micro-batches of {layout['seq']} "
            f"tokens x {layout['mbs']}")
    return text + (f"  (chosen by search: {', '.join(chosen)})" if chosen else "")


def _training_row(tr: dict[str, Any]) -> str:
    text = (f"{si(tr['tokens'])} tokens: {tr['days']:.1f} days, {si(tr['gpu_hours'])} GPU-hours, "
            f"goodput {tr['goodput']:.2f}")
    if tr.get("mtbf_hours", math.inf) == math.inf:
        return text
    checkpoint = si(tr["checkpoint_bytes"], "B")
    return (f"{text} ({tr['interruptions_per_day']:.1f} interruptions/day, "
            f"MTBF {tr['mtbf_hours'] * 60:.0f} min, checkpoint {checkpoint} in "
            f"{tr['checkpoint_write_s']:.1f} s every {tr['checkpoint_interval_s'] / 60:.1f} min)")


def _cost_rows(plan: dict[str, Any]) -> list[tuple[str, str]]:
    cost, unc = plan["cost"], plan.get("uncertainty") or {}
    rows = []
    if cost.get("usd") is not None:
        text = f"${si(cost['usd'])} owned at TCO ${cost['usd_per_gpu_hour']:.2f}/GPU-h"
        if cost.get("usd_rented") is not None:
            text += (f"; ${si(cost['usd_rented'])} rented at "
                     f"${cost['rental_usd_per_gpu_hour']:.2f}/GPU-h")
        rows.append(("cost", text))
    if unc.get("days"):
        labels = (("days", "days"), ("facility_mw", "MW"), ("usd", "$"))
        rows.append(("P10/P50/P90", ", ".join(
            f"{label} {si(unc[k]['p10'])}/{si(unc[k]['p50'])}/{si(unc[k]['p90'])}"
            for k, label in labels if unc.get(k))))
        top = unc.get("sensitivity", [])[:3]
        if top:
            rows.append(("sensitivity", "; ".join(
                f"{s['input']} -> {s['metric']} {s['low']:+.0%}/{s['high']:+.0%}" for s in top)))
    return rows


def plan_lines(plan: dict[str, Any], width: int = 12) -> list[str]:
    """The one terminal rendering of a Plan (``exabench plan`` and the summary of ``exabench
    run``): layout, step time, MFU, memory, breakdown, training time, power, cost, uncertainty."""
    inputs, mem, power = plan["inputs"], plan["memory"], plan["power"]
    step, precision = plan["step_time_s"], inputs["layout"]["precision"]
    parts = ", ".join(f"{k} {v:.1f}" for k, v in mem["parts"].items())
    rows = [
        *([("gpus", inputs["gpus_note"])] if inputs.get("gpus_note") else []),
        ("layout", _layout_row(inputs)),
        ("step time", f"{step:.3f} s    tokens/s/GPU {plan['tokens_per_s_per_gpu']:,.0f}    "
                      f"model TFLOP/s/GPU {plan['model_tflops_per_gpu']:.0f}"),
        ("MFU", f"{plan['mfu']:.1%} (HFU {plan['hfu']:.1%}) of the dense {precision} peak "
                f"{inputs['hardware']['peak_tflops']:.0f} TFLOP/s"),
        ("memory", f"{mem['gib_per_gpu']:.1f} GiB of {mem['capacity_gib']:.0f} GiB per GPU "
                   f"({_fit_word(mem)}): {parts}"),
        ("breakdown", ", ".join(f"{k} {v:.3g} s ({v / step:.0%})"
                                for k, v in plan["breakdown_s"].items() if v > 0)),
        *([("one layer", _layer_ops_row(plan["layer_ops"]))] if plan.get("layer_ops") else []),
        ("training", _training_row(plan["training"])),
        ("power", f"IT {power['it_mw']:.2f} MW, facility {power['facility_mw']:.2f} MW "
                  f"(rated {power.get('facility_mw_rated', 0):.2f}), "
                  f"{power['energy_mwh']:,.0f} MWh, {power.get('emissions_tco2', 0):,.0f} t CO2 "
                  f"(GPU {power['kind']})"),
        *_cost_rows(plan),
        *([("why", plan["why"])] if plan.get("why") else []),
    ]
    return _labelled(width, rows)


def _fit_word(mem: dict[str, Any]) -> str:
    """``fits``; ``tight`` when only the fragmentation margin is over the HBM (the layout is
    kept, a published run used it); ``DOES NOT FIT``."""
    if not mem["fits"]:
        return "DOES NOT FIT"
    return "TIGHT: over only by the fragmentation margin" if mem.get("tight") else "fits"


def _layer_ops_row(section: dict[str, Any]) -> str:
    """One layer's kernels, slowest first: ``mlp_up 12.1 ms (31%)``, forward + backward of one
    micro-batch, then the launch cost."""
    total = section["total_s"]
    ops = sorted(section["ops"], key=lambda o: -(o["fwd_s"] + o["bwd_s"]))
    parts = [f"{o['name']} {(o['fwd_s'] + o['bwd_s']) * 1e3:.3g} ms "
             f"({(o['fwd_s'] + o['bwd_s']) / total:.0%})" for o in ops]
    parts.append(f"launch {section['launch_s'] * 1e3:.2g} ms")
    return (f"{total * 1e3:.3g} ms fwd+bwd per micro-batch on stage {section['stage']}: "
            + ", ".join(parts))


def plan_text(plan: dict[str, Any]) -> str:
    """What ``exabench plan`` prints: the title, :func:`plan_lines`, the MFU convention."""
    return "\n".join([f"exabench plan: {plan_title(plan)}", *plan_lines(plan),
                      "  MFU counts model FLOPs only (6N + 12LHQT, PaLM appendix B) at the dense "
                      "peak of the precision."])


def search_text(plans: list[dict[str, Any]]) -> str:
    """What ``exabench search`` prints: the ranked layouts, a line each, and why the first wins."""
    first = plans[0]["inputs"]
    lines = [f"exabench search: {first['model']['name']} on {first['gpus']:,} x "
             f"{first['hardware']['name']}, cluster {first['cluster']['name']}, global batch "
             f"{first['layout']['global_batch']} x {first['layout']['seq']} tokens"]
    if first.get("gpus_note"):
        lines.append(f"gpus: {first['gpus_note']}")
    lines.append(f"{'#':>3}  {'layout':<58} {'step (s)':>9} {'tok/s/GPU':>10} {'MFU':>6} "
                 f"{'GiB/GPU':>8}")
    for i, plan in enumerate(plans, 1):
        lines.append(f"{i:>3}  {describe_layout(plan['inputs']['layout']):<58} "
                     f"{plan['step_time_s']:>9.3f} {plan['tokens_per_s_per_gpu']:>10,.0f} "
                     f"{plan['mfu']:>6.1%} {plan['memory']['gib_per_gpu']:>8.1f}")
    if plans[0].get("why"):
        lines.append(f"why: {plans[0]['why']}")
    return "\n".join(lines)


def scale_text(model: str, hardware: str, cluster: str, rows: list[dict[str, Any]],
               fabric: dict[str, Any]) -> str:
    """What ``exabench scale`` prints: a row per GPU count (best layout, throughput, MFU,
    efficiency, goodput, days, $/Mtoken, MW) and the fabric at the largest count."""
    budget = next((r["tokens"] for r in rows if r.get("fits")), None)
    w = max([50, *(len(r["layout"]) for r in rows if r.get("fits"))])
    lines = [f"exabench scale: {model} on {hardware}, cluster {cluster}"
             + (f", {si(budget)} tokens" if budget else ""),
             f"{'GPUs':>7}  {'layout':<{w}} {'tok/s':>9} {'MFU':>6} {'eff':>5} {'goodput':>7} "
             f"{'days':>8} {'$/Mtok':>7} {'MW':>7}",
             f"{'':>7}  {'':<{w}} {'(total)':>9} {'':>6} {'':>5} {'':>7} {'(wall)':>8} "
             f"{'(TCO)':>7} {'(fac.)':>7}"]
    for r in rows:
        if not r.get("fits"):
            lines.append(f"{r['gpus']:>7,}  {'no layout fits in memory':<{w}}")
            continue
        lines.append(f"{r['gpus']:>7,}  {r['layout']:<{w}} {si(r['tokens_per_s']):>9} "
                     f"{r['mfu']:>6.1%} {r['efficiency']:>5.2f} {r['goodput']:>7.2f} "
                     f"{r['days']:>8,.1f} {r['usd_per_million_tokens']:>7.2f} "
                     f"{r['facility_mw']:>7.2f}")
    if fabric.get("tiers"):
        lines.append(f"fabric at {fabric['gpus']:,} GPUs: {fabric['tiers']} tiers of "
                     f"radix-{fabric['radix']} switches, {fabric['switches']:,} switches, "
                     f"{fabric['links']:,} links, {fabric['optics']:,} optics, "
                     f"bisection {fabric['bisection_tbps']:,.0f} TB/s")
    return "\n".join(lines)


def scenario_lines(plan: dict[str, Any]) -> list[str]:
    """The default scenario of ``exabench run``: what it is, which profile it planned on and
    why, the Plan (:func:`plan_lines`), and what was assumed rather than measured or published."""
    inputs = plan.get("inputs") or {}
    scenario = inputs.get("scenario") or {}
    lines = _labelled(16, [
        ("scenario", f"{scenario.get('name', '-')}: {si(scenario.get('tokens'))} tokens on "
                     f"{count(inputs.get('gpus'))} GPUs"),
        ("profile", f"{scenario.get('basis', '-')} ({scenario.get('profile', '-')}): "
                    f"{scenario.get('why', '')}"),
    ]) + plan_lines(plan, width=16)
    # What was assumed rather than measured or published, by name (values and sources: the report).
    assumed = [str(a.get("name")) for a in inputs.get("assumptions") or []
               if isinstance(a, dict) and a.get("kind") == "assumed"]
    if "assumed" in str(scenario.get("global_batch_why", "")):
        assumed.insert(0, f"global batch {count(scenario.get('global_batch'))}")
    if assumed:
        lines += _labelled(16, [("assumed", ", ".join(assumed))])
    return lines


def summary(run: dict[str, Any], plan: dict[str, Any] | None, paths: dict[str, str]) -> str:
    out = ["", "== exabench run ==", "Measured on this machine:"]
    out += measured_lines(run)
    if plan is not None:
        out += [
            "Planned (every input measured, published with its source, or assumed: see the report):"
        ]
        out += scenario_lines(plan)
    out += ["Files:"] + [f"  {name:<18} {path}" for name, path in paths.items()]
    return "\n".join(out)


def fleet_summary(summary: dict[str, Any], path: str) -> str:
    """A fleet screening's summary (``fleet.json``) as text: the spread of each figure, then the
    flagged GPUs and nodes, the failed ranks and the verdict."""
    heads = ("n", 5), ("median", 10), ("min", 10), ("max", 10), ("spread%", 8), ("outliers", 8)
    lines = [f"# fleet: {summary['gpus']} GPUs (ranks) on {summary['nodes']} nodes; outlier "
             f"rule |z| > {summary['threshold_z']} and >= {100 * summary['min_rel_dev']:.0f} % "
             f"below the median, with >= {summary['min_gpus']} GPUs",
             f"#{'figure':>79} " + " ".join(f"{head:>{width}}" for head, width in heads)]
    for fig in summary["figures"]:
        name = fig["figure"] if len(fig["figure"]) <= 79 else "..." + fig["figure"][-76:]
        spread = "-" if fig["spread_pct"] is None else f"{fig['spread_pct']:.1f}"
        lines.append(f" {name:>79} {fig['n']:>5} {fig['median']:>10.4g} {fig['min']:>10.4g} "
                     f"{fig['max']:>10.4g} {spread:>8} {len(fig['outliers']):>8}")
    if not summary["flagged_gpus"]:
        lines.append("# flagged GPUs: none")
    for gpu in summary["flagged_gpus"]:
        worst = min(gpu["figures"], key=lambda f: f["z"])
        board = f", {gpu['uuid']}" if gpu.get("uuid") else ""
        where = f"{gpu['host']}, local {gpu['local_rank']}{board}"
        lines.append(f"# SLOW rank {gpu['rank']} ({where}): "
                     f"{len(gpu['figures'])} figures; worst {worst['figure']} z={worst['z']:.1f} "
                     f"({100 * worst['rel_dev']:+.1f} %)")
    for node in summary["flagged_nodes"]:
        lines.append(f"# node {node['host']}: ranks {node['flagged_ranks']} of {node['gpus']} "
                     "flagged")
    for err in summary["errors"]:
        lines.append(f"# FAILED rank {err['rank']} ({err['host']}): {err['error']}")
    lines.append(f"# verdict: {summary['verdict']}; fleet summary written to {path}")
    return "\n".join(lines)
