"""Plans across scale: the scaling curve (8 to 100,000 GPUs, best layout at each size) and the
GPU count that trains a token budget in a given number of days.

GPU counts: log-spaced targets snapped to ``node x 2^a`` or ``node x 3 x 2^a`` (counts a
power-of-two batch and layer count can divide; 100,000 itself has a factor 5^5 no layout of a
power-of-two batch can use, so a 100k-GPU cluster's curve ends at 98,304 = 96 x 1,024).

Batch: the plan's global batch (default 16M tokens, Llama 3); where no layout fits at a size
(too few sequences for the data-parallel degree, or too little memory), it is doubled up to
``MAX_BATCH_DOUBLINGS`` times, and the row says so. For speed the curve fixes the micro-batch
at 1 unless given (the full search picks 1 for every dense model >= 70B at >= 512 GPUs).

Each row: GPUs, layout, tokens/s (total and per GPU), MFU, scaling efficiency (per-GPU
throughput against the best per-GPU throughput on the curve: the smallest sizes are often
memory-bound, so "against the smallest" would flatter the large ones), goodput, days and
GPU-hours for the tokens, and dollars per million tokens at the cluster's TCO
($/GPU-h / (3,600 x tokens/s/GPU x goodput)).
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from exabench.analysis.atscale.sections import scale_sections
from exabench.analysis.planner.flops import total_params
from exabench.analysis.planner.layout import DEFAULT_PRECISION, Layout, LayoutRequest
from exabench.analysis.planner.plan import (
    CHINCHILLA_TOKENS_PER_PARAM,
    base_layout,
    choose_layouts,
    plan_document,
)
from exabench.analysis.planner.step import Context
from exabench.errors import UserError

MAX_BATCH_DOUBLINGS = 2


def gpu_counts(lo: int, hi: int, node: int) -> list[int]:
    """Every ``node x {1, 3} x 2^a`` between ``lo`` and ``hi`` (plus ``lo`` itself), ascending."""
    out = {lo}
    a = 0
    while node * 2**a <= hi:
        for m in (1, 3):
            n = node * m * 2**a
            if lo <= n <= hi:
                out.add(n)
        a += 1
    return sorted(out)


def curve_points(max_gpus: int, points: int, node: int, min_gpus: int = 8) -> list[int]:
    """About ``points`` GPU counts log-spaced from ``min_gpus`` to ``max_gpus``, snapped to
    ``gpu_counts``."""
    grid = gpu_counts(max(min_gpus, node), max_gpus, node) if max_gpus >= node else [max_gpus]
    if points >= len(grid):
        return grid
    lo, hi = math.log(grid[0]), math.log(grid[-1])
    targets = [math.exp(lo + (hi - lo) * i / (points - 1)) for i in range(points)]
    chosen = sorted({min(grid, key=lambda g, t=t: abs(math.log(g) - math.log(t))) for t in targets})
    return chosen


def best_at(ctx: Context, gpus: int,
            request: LayoutRequest) -> tuple[Layout, dict[str, Any], LayoutRequest] | None:
    """(layout, evaluation, request used) of the best layout at ``gpus``; None when nothing
    fits. A global batch the request leaves open is doubled until one fits (at most
    ``MAX_BATCH_DOUBLINGS`` times)."""
    tried = request
    for _ in range(MAX_BATCH_DOUBLINGS + 1):
        try:
            [(lo, result)], _, _ = choose_layouts(ctx, gpus, tried, top=1)
            return lo, result, tried
        except UserError:
            if request.global_batch is not None:
                return None
            batch = tried.global_batch or base_layout(ctx.model, tried)[0].global_batch
            tried = replace(tried, global_batch=batch * 2)
    return None


def scaling_curve(ctx: Context, *, points: int = 20, max_gpus: int | None = None, min_gpus: int = 8,
                  request: LayoutRequest | None = None,
                  tokens: float | None = None) -> list[dict[str, Any]]:
    """One row per GPU count: the best layout there and what it delivers (micro-batch 1 and
    bf16 unless ``request`` fixes them)."""
    request = request or LayoutRequest()
    request = replace(
        request, precision=request.precision or DEFAULT_PRECISION, mbs=request.mbs or 1
    )
    max_gpus = max_gpus or ctx.cluster.gpus
    if points < 2:
        raise UserError(f"points = {points} is not valid; must be >= 2")
    rows: list[dict[str, Any]] = []
    budget = tokens or CHINCHILLA_TOKENS_PER_PARAM * total_params(ctx.model)
    for gpus in curve_points(max_gpus, points, ctx.cluster.nvlink_domain, min_gpus):
        found = best_at(ctx, gpus, request)
        if found is None:
            rows.append({"gpus": gpus, "layout": None, "fits": False})
            continue
        lo, result, used = found
        rate = result["tokens_per_s_per_gpu"]
        sections = scale_sections(ctx, gpus=gpus, tokens=budget, tokens_per_s_per_gpu=rate, draws=0)
        goodput = sections["training"]["goodput"]
        usd_h = sections["cost"]["usd_per_gpu_hour"]
        rows.append({
            "gpus": gpus,
            "layout": lo.describe(),
            "fits": True,
            "global_batch": lo.global_batch,
            "batch_doubled": used.global_batch != request.global_batch,
            "tokens_per_s": rate * gpus,
            "tokens_per_s_per_gpu": rate,
            "mfu": result["mfu"],
            "efficiency": None,
            "goodput": goodput,
            "usd_per_million_tokens": usd_h / (3600.0 * rate * goodput) * 1e6,
            "tokens": budget,
            "days": sections["training"]["days"],
            "gpu_hours": sections["training"]["gpu_hours"],
            "facility_mw": sections["power"]["facility_mw"],
        })
    best = max((r["tokens_per_s_per_gpu"] for r in rows if r["fits"]), default=None)
    for r in rows:
        if r["fits"]:
            r["efficiency"] = r["tokens_per_s_per_gpu"] / best
    return rows


def gpus_for_days(ctx: Context, *, days: float, tokens: float, request: LayoutRequest,
                  max_gpus: int | None = None) -> dict[str, Any]:
    """The fewest GPUs (of ``gpu_counts``) whose best plan trains ``tokens`` within ``days``
    (wall time, goodput included); the Plan at that size with ``inputs.target_days``."""
    if not days > 0:
        raise UserError(f"days = {days!r} is not valid; must be > 0")
    max_gpus = max_gpus or ctx.cluster.gpus
    grid = gpu_counts(ctx.cluster.nvlink_domain, max_gpus, ctx.cluster.nvlink_domain)

    def plan_at(gpus: int) -> dict[str, Any] | None:
        found = best_at(ctx, gpus, request)
        if found is None:
            return None
        lo, result, _ = found
        return plan_document(ctx, lo, result, gpus=gpus, tokens=tokens, searched=[], assumptions=[])

    lo_i, hi_i, best = 0, len(grid) - 1, None
    top = plan_at(grid[hi_i])
    if top is None or top["training"]["days"] > days:
        have = f"{top['training']['days']:.1f} days" if top else "no layout"
        raise UserError(
            f"{tokens:.3g} tokens in {days:g} days needs more than the {grid[hi_i]:,} GPUs"
            f" available ({have} there); give a larger cluster or more days"
        )
    best = top
    while (
        lo_i < hi_i
    ):  # days fall as GPUs grow (throughput per GPU falls more slowly than GPUs rise)
        mid = (lo_i + hi_i) // 2
        plan = plan_at(grid[mid])
        if plan is not None and plan["training"]["days"] <= days:
            hi_i, best = mid, plan
        else:
            lo_i = mid + 1
    best["inputs"]["target_days"] = days
    best["inputs"]["sized_by"] = (
        f"fewest GPUs of {grid[0]}-{grid[-1]} (node x 2^a or 3 x 2^a) within {days:g} days"
        " (scale.py)"
    )
    return best
