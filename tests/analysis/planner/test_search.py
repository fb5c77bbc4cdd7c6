from __future__ import annotations

from exabench.analysis.planner.layout import Layout, LayoutRequest
from exabench.analysis.planner.search import candidates, search, why_best
from exabench.analysis.planner.step import Context
from exabench.workloads.clusters import load_cluster
from exabench.workloads.models import load_model
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
