"""The terminal summary ``exabench run`` prints at its end: what was measured, what the plan
assumed (and on which profile), the plan's headline, and where the files are."""

from __future__ import annotations

from typing import Any

from exabench.reports.fmt import count, duration, num, pct, usd
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
        if key not in best or _rank(suite, params, value) > _rank(suite, best[key].get("params") or {},
                                                                  best[key]["metrics"][metric]):
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
            parts.append(f"{key} {num(r['metrics'][metric], unit)}" + (f" ({peak:.0f} % of peak)" if peak else ""))
        lines.append(f"  {label:<16} " + ", ".join(parts))
    statuses = [r.get("status") for r in results]
    lines.append(f"  results          {statuses.count('ok')} ok, {statuses.count('failed')} failed, "
                 f"{statuses.count('skipped')} skipped (skipped: what this device can't run)")
    return lines


def plan_lines(plan: dict[str, Any]) -> list[str]:
    inputs = plan.get("inputs") or {}
    scenario = inputs.get("scenario") or {}
    layout = inputs.get("layout") or {}
    training, power, cost = plan.get("training") or {}, plan.get("power") or {}, plan.get("cost") or {}
    unc = plan.get("uncertainty") or {}
    days = unc.get("days") or {}
    lines = [
        f"  scenario         {scenario.get('name', '-')}: {count(scenario.get('tokens'))} tokens on "
        f"{count(inputs.get('gpus'))} GPUs",
        f"  profile          {scenario.get('basis', '-')} ({scenario.get('profile', '-')}): {scenario.get('why', '')}",
        "  layout           " + " ".join(f"{k}={layout[k]}" for k in ("tp", "pp", "vp", "cp", "dp", "ep", "mbs", "zero", "recompute") if k in layout),
        f"  step             {duration(plan.get('step_time_s'))}, MFU {pct(plan.get('mfu'))}, "
        f"{num(plan.get('tokens_per_s_per_gpu'), 'tokens/s')} per GPU",
        f"  time to train    {num(training.get('days'), 'days')} (P10-P90 {num(days.get('p10'))}-{num(days.get('p90'), 'days')}), "
        f"goodput {pct(training.get('goodput'))}, {num(training.get('interruptions_per_day'))} interruptions/day",
        f"  power            {num(power.get('facility_mw'), 'MW')} facility, {num(power.get('energy_mwh'), 'MWh')}",
        f"  cost             {usd(cost.get('usd'))} owned ({usd(cost.get('usd_per_gpu_hour'))}/GPU-h), "
        f"{usd(cost.get('usd_rented'))} rented",
    ]
    # What was assumed rather than measured or published, by name (values and sources: the report).
    assumed = [str(a.get("name")) for a in inputs.get("assumptions") or [] if isinstance(a, dict) and a.get("kind") == "assumed"]
    if "assumed" in str(scenario.get("global_batch_why", "")):
        assumed.insert(0, f"global batch {count(scenario.get('global_batch'))}")
    if assumed:
        lines.append(f"  assumed          {', '.join(assumed)}")
    return lines


def summary(run: dict[str, Any], plan: dict[str, Any] | None, paths: dict[str, str]) -> str:
    out = ["", "== exabench run ==", "Measured on this machine:"]
    out += measured_lines(run)
    if plan is not None:
        out += ["Planned (every input measured, published with its source, or assumed: see the report):"]
        out += plan_lines(plan)
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
