"""Published end-to-end runs against ``plan --tokens``: the planner's GPU-hours (wall time x
GPUs, goodput included) next to what the training really took; error = predicted / published - 1."""

from __future__ import annotations

from typing import Any

from exabench.analysis.planner.layout import DEFAULT_PRECISION, LayoutRequest
from exabench.analysis.planner.plan import build_plan
from exabench.analysis.planner.step import Context
from exabench.workloads.endtoend import EndToEndRun


def check_run(ctx: Context, run: EndToEndRun) -> dict[str, Any]:
    request = LayoutRequest(**{"precision": DEFAULT_PRECISION, **run.options})
    [plan] = build_plan(context=ctx, gpus=run.gpus, request=request, tokens=run.tokens)
    predicted = plan["training"]["gpu_hours"]
    error = predicted / run.published_gpu_hours - 1.0
    return {
        "id": run.id,
        "published_gpu_hours": run.published_gpu_hours,
        "predicted_gpu_hours": predicted,
        "error": error,
        "tolerance": run.tolerance,
        "within": abs(error) <= run.tolerance,
        "mfu": plan["mfu"],
        "goodput": plan["training"]["goodput"],
        "source": run.source,
        "note": run.note,
    }
