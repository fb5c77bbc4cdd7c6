"""The planner against published training runs: predicted vs published, error of each, summary.

``error = (predicted - published) / published``. The planner gets exactly what the source
states (model, GPUs, layout, framework settings); what it doesn't state is chosen by the
search, as for any plan. Nothing is fitted per row: the profiles are the shipped ones.
"""

from __future__ import annotations

import statistics
from typing import Any

from exabench.analysis.planner.flops import megatron_hardware_flops, padded_vocab
from exabench.analysis.planner.layout import LayoutRequest
from exabench.analysis.planner.plan import choose_layouts
from exabench.analysis.planner.step import Context
from exabench.workloads.published import PublishedRun


def predict(ctx: Context, run: PublishedRun) -> float:
    """The planner's value of ``run.metric`` for the run's stated settings."""
    [(lo, result)], _, _ = choose_layouts(ctx, run.gpus, LayoutRequest(**run.settings), top=1)
    if run.metric == "step_time_s":
        return float(result["step_time_s"])
    if run.metric == "model_tflops_per_gpu":
        return float(result["model_tflops_per_gpu"])
    if run.metric == "mfu":
        return float(result["mfu"])
    if run.metric == "tokens_per_s_per_gpu":
        return float(result["tokens_per_s_per_gpu"])
    assert run.metric == "hw_tflops_per_gpu", run.metric
    m = ctx.model
    flops = megatron_hardware_flops(
        lo.global_batch, lo.seq, m.layers, m.hidden, padded_vocab(m.vocab, lo.tp)
    )
    return flops / result["step_time_s"] / run.gpus / 1e12


def validate(pairs: list[tuple[PublishedRun, Context]]) -> dict[str, Any]:
    rows = []
    for run, ctx in pairs:
        predicted = predict(ctx, run)
        rows.append({
            "id": run.id,
            "source": run.source,
            "metric": run.metric,
            "published": run.published,
            "predicted": predicted,
            "error": (predicted - run.published) / run.published,
        })
    errors = [abs(r["error"]) for r in rows]
    return {"rows": rows, "median_abs_error": statistics.median(errors) if errors else None,
            "max_abs_error": max(errors) if errors else None}
