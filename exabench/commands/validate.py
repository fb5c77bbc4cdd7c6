"""``exabench validate``: the planner against the published training runs shipped with exabench."""

from __future__ import annotations

import json
import textwrap
from typing import Any

import click

from exabench.analysis.planner.step import Context
from exabench.analysis.validate import validate
from exabench.workloads.accuracy import render_accuracy
from exabench.workloads.clusters import load_cluster
from exabench.workloads.models import load_model
from exabench.workloads.profile import load_reference
from exabench.workloads.published import PublishedRun, load_published

WIDTH = 99
"""The per-row table stays under 100 columns: id and group are shortened to fit."""
METRIC_SHORT = {
    "step_time_s": ("step", "step time, s"),
    "hw_tflops_per_gpu": ("hwTF", "hardware TFLOP/s per GPU (Megatron's count, with recompute)"),
    "model_tflops_per_gpu": ("modTF", "model TFLOP/s per GPU"),
    "mfu": ("MFU", "model FLOPs utilisation"),
    "tokens_per_s_per_gpu": ("tok/s", "tokens/s per GPU"),
}


def published_pairs() -> list[tuple[PublishedRun, Context]]:
    """Every shipped published run with the planner Context of its model, hardware, cluster."""
    return [
        (
            run,
            Context(load_model(run.model), load_reference(run.hardware), load_cluster(run.cluster)),
        )
        for run in load_published()
    ]


def _fit(text: str, width: int) -> str:
    """``text`` cut to ``width`` with an ellipsis in the middle (both ends tell rows apart)."""
    if len(text) <= width:
        return text
    head = width // 2
    return text[:head] + "~" + text[len(text) - (width - 1 - head):]


def _pct(value: float | None, sign: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:+.1%}" if sign else f"{value:.1%}"


def _value(x: float) -> str:
    """Four significant digits, whole numbers from 10,000 on (no exponent)."""
    return f"{x:.0f}" if abs(x) >= 1e4 else f"{x:.4g}"


def _short(x: float) -> str:
    """Three significant digits, k and M for thousands and millions."""
    for scale, suffix in ((1e6, "M"), (1e3, "k")):
        if abs(x) >= scale:
            return f"{x / scale:.3g}{suffix}"
    return f"{x:.3g}"


def _range(row: dict[str, Any]) -> str:
    if row["p10"] is None:
        return "-"
    return f"{_short(row['p10'])}-{_short(row['p90'])}"


def render_table(report: dict[str, Any]) -> list[str]:
    """Per-row table, per-source table and the summary lines of a :func:`validate` report."""
    rows = report["rows"]
    metric_w = 5
    cells = [("published", 9), ("predicted", 9), ("error", 7), ("LOSO err", 8), ("P10-P90", 13)]
    fixed = metric_w + sum(w for _, w in cells) + len(cells) + 3  # 3 + 5 separating spaces
    room = WIDTH - fixed
    group_w = min(max([5, *(len(r["group"]) for r in rows)]), 13)
    id_w = min(max([2, *(len(r["id"]) for r in rows)]), room - group_w)
    lines = [
        f"{'id':<{id_w}} {'group':<{group_w}} {'metric':<{metric_w}}"
        + "".join(f" {name:>{w}}" for name, w in cells)
    ]
    for r in rows:
        short = METRIC_SHORT.get(r["metric"], (r["metric"][:metric_w], r["metric"]))[0]
        lines.append(
            f"{_fit(r['id'], id_w):<{id_w}} {_fit(r['group'], group_w):<{group_w}}"
            f" {short:<{metric_w}} {_value(r['published']):>9} {_value(r['predicted']):>9}"
            f" {_pct(r['error'], True):>7} {_pct(r['loso_error'], True):>8} {_range(r):>13}"
        )
    used = dict.fromkeys(r["metric"] for r in rows)
    legend = [f"{METRIC_SHORT[m][0]} = {METRIC_SHORT[m][1]}" for m in used if m in METRIC_SHORT]
    if legend:
        lines += textwrap.wrap("metric: " + "; ".join(legend), WIDTH, subsequent_indent="  ")
    loso = report["loso"]
    source_w = max([6, *(len(s["source"]) for s in loso["by_source"])])
    lines += [
        "",
        f"{'source':<{source_w}} {'rows':>4} {'median |err|':>12} {'max |err|':>9} {'bias':>7}",
    ]
    for s in loso["by_source"]:
        lines.append(
            f"{s['source']:<{source_w}} {s['rows']:>4} {_pct(s['median_abs_error']):>12}"
            f" {_pct(s['max_abs_error']):>9} {_pct(s['bias'], True):>7}"
        )
    lines.append("(leave-one-source-out errors; bias = median signed error)")
    interval = report["interval"]
    lines += [
        "",
        f"median |error| {_pct(report['median_abs_error'])}, max |error|"
        f" {_pct(report['max_abs_error'])} over {len(rows)} published runs from"
        f" {loso['sources']} sources",
        f"leave-one-source-out: median |error| {_pct(loso['median_abs_error'])},"
        f" max {_pct(loso['max_abs_error'])}",
    ]
    if interval["rows"]:
        lines.append(
            f"P10-P90 holds the published value for {interval['inside']} of {interval['rows']}"
            f" rows ({interval['coverage']:.0%})"
        )
    for f in loso["fitted"]:
        lines.append(f"fitted {f['name']} = {f['value_all']:.4g} on all rows ({f['source']})")
    return lines


@click.command("validate")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
def command(fmt: str) -> None:
    """Predict every published run in workloads/published/ and compare (error = (pred - pub) / pub).

    Each run gets the layout its source states; what the source leaves out is chosen by the
    search. Rows are grouped by independent source (a file, unless it names a group).
    Leave-one-source-out (LOSO): the planner's fitted parameters, if any, are refitted without a
    source and that source's rows predicted (with none fitted, the LOSO error is the error).
    P10-P90: the row's LOSO prediction times the 10th and 90th percentiles of published/predicted
    throughput over the other sources' LOSO residuals (step time inverted); the global ratios
    are what `nox -s calibrate` writes to workloads/accuracy.toml for plans' uncertainty.

    \b
    Examples:
      exabench validate
      exabench validate --format json
    """
    report = validate(published_pairs())
    if fmt == "json":
        click.echo(json.dumps(report, indent=2))
        return
    for line in render_table(report):
        click.echo(line)


def calibrated_text(report: dict[str, Any] | None = None) -> str:
    """What ``workloads/accuracy.toml`` should hold now: the throughput ratios of ``report``
    (a :func:`validate` report; by default, one computed on the shipped published runs)."""
    report = validate(published_pairs()) if report is None else report
    interval = report["interval"]
    return render_accuracy(interval["p10_ratio"], interval["p50_ratio"], interval["p90_ratio"],
                           rows=len(report["rows"]), sources=report["loso"]["sources"])
