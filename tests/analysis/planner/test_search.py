from __future__ import annotations

from dataclasses import replace

import pytest

from exabench.analysis.planner.layout import Layout, LayoutRequest
from exabench.analysis.planner.memory import memory_per_gpu
from exabench.analysis.planner.search import candidates, search, why_best
from exabench.analysis.planner.step import Context, evaluate
from exabench.workloads.clusters import load_cluster
from exabench.workloads.models import load_model, parse_model
from exabench.workloads.profile import load_reference

CTX = Context(load_model("llama3-70b"), load_reference("h100-sxm"), load_cluster("meta-24k-roce"))
BASE = Layout(seq=8192, global_batch=512)


def test_search_ranks_feasible_layouts_fastest_first() -> None:
    ranked = search(CTX, 512, LayoutRequest(), BASE, top=5)
    assert len(ranked) == 5
    rates = [r["tokens_per_s_per_gpu"] for _, r in ranked]
    assert rates == sorted(rates, reverse=True)
    for lo, r in ranked:
        assert r["memory"]["fits"] and lo.gpus == 512 and lo.tp <= 8
    assert "faster than" in why_best(ranked) or "%" in why_best(ranked)


def test_fixed_options_are_respected_and_candidates_are_valid() -> None:
    ranked = search(CTX, 512, LayoutRequest(tp=4, recompute="full"), BASE, top=3)
    assert all(lo.tp == 4 and lo.recompute == "full" for lo, _ in ranked)
    shapes = candidates(CTX, 512, LayoutRequest(), BASE)
    assert shapes and all(lo.tp in (1, 2, 4, 8) and lo.gpus == 512 for lo in shapes)


def test_nothing_fits_gives_an_empty_ranking() -> None:
    big = Context(load_model("llama3-405b"), load_reference("h100-sxm"), load_cluster("dgx-h100"))
    assert search(big, 8, LayoutRequest(), BASE) == []


TOY = {"name": "toy", "layers": 2, "hidden": 64, "heads": 4, "vocab": 128, "seq_len": 16}


def _toy_context() -> tuple[Context, Layout, list[tuple[float, float, float]]]:
    """A toy model on one DGX H100, and (GiB without margin, GiB with it, tokens/s/GPU) of
    every layout the search may try."""
    ctx = Context(parse_model(TOY, "toy.toml"), load_reference("h100-sxm"),
                  load_cluster("dgx-h100"))
    base = Layout(seq=16, global_batch=64)
    rows = []
    for shape in candidates(ctx, 8, LayoutRequest(), base):
        for recompute in ("none", "selective", "full"):
            for zero in (1, 2, 3):
                lo = replace(shape, recompute=recompute, zero=zero)
                mem = memory_per_gpu(ctx.model, lo, 80.0)
                total = mem["gib_per_gpu"]
                rows.append((total - mem["parts"]["fragmentation"], total,
                             evaluate(ctx, lo, with_memory=False)["tokens_per_s_per_gpu"]))
    return ctx, base, rows


def test_comfortable_layouts_come_first_tight_ones_only_when_none_is() -> None:
    ctx, base, rows = _toy_context()
    # capacity = the least any layout needs before the fragmentation margin: that one fits
    # only tight, and nothing fits comfortably, so the search offers the tight ones
    ctx.capacity_gib = min(bare for bare, _, _ in rows)
    tight = search(ctx, 8, LayoutRequest(), base, top=3)
    assert tight and all(r["memory"]["fits"] and r["memory"]["tight"] for _, r in tight)
    # the least capacity at which a tight layout is faster than every comfortable one: the
    # search still offers the comfortable ones only, the fastest of them first
    for capacity in sorted({total for _, total, _ in rows}):
        comfortable = [rate for _, total, rate in rows if total <= capacity]
        faster = [rate for bare, total, rate in rows
                  if bare <= capacity < total and rate > max(comfortable)]
        if faster:
            break
    assert faster, "the toy model should have a tight layout faster than the comfortable ones"
    ctx.capacity_gib = capacity
    ranked = search(ctx, 8, LayoutRequest(), base, top=3)
    assert ranked and all(r["memory"]["fits"] and not r["memory"]["tight"] for _, r in ranked)
    assert ranked[0][1]["tokens_per_s_per_gpu"] == pytest.approx(max(comfortable))
    assert max(comfortable) < max(faster)
