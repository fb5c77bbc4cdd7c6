"""Planner speed against the issue's targets: one plan evaluation <= 5 ms in-process, and a
search over all layouts of Llama 3 405B on 16,384 H100s <= 2 s (on 2 CPU cores).

Run: ``python benchmarks/planner_speed.py`` (``nox -s benchmark`` runs it). Prints, never asserts.
"""

from __future__ import annotations

import statistics
import time

from exabench.analysis.planner.layout import Layout, LayoutRequest, describe_layout
from exabench.analysis.planner.plan import build_plan
from exabench.analysis.planner.search import candidates
from exabench.analysis.planner.step import Context, evaluate
from exabench.workloads.clusters import load_cluster
from exabench.workloads.models import load_model
from exabench.workloads.profile import load_reference


def _context() -> Context:
    return Context(
        load_model("llama3-405b"), load_reference("h100-sxm"), load_cluster("meta-24k-roce")
    )


def one_plan_ms(repeats: int = 200) -> float:
    """Median ms of one full evaluation (fresh caches each time: nothing reused between plans)."""
    model, profile, cluster = (
        load_model("llama3-405b"),
        load_reference("h100-sxm"),
        load_cluster("meta-24k-roce"),
    )
    layout = Layout(
        tp=8, pp=16, vp=8, dp=128, mbs=1, global_batch=2048, seq=8192, zero=1, recompute="none"
    )
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        evaluate(Context(model, profile, cluster), layout)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def search_s(gpus: int = 16384, cluster: str = "meta-24k-roce") -> tuple[float, int, str]:
    """Seconds of one ``search`` (a fresh context: no cache from an earlier search), the layout
    shapes it enumerates, and the best layout."""
    ctx = Context(load_model("llama3-405b"), load_reference("h100-sxm"), load_cluster(cluster))
    start = time.perf_counter()
    [plan] = build_plan(context=ctx, gpus=gpus, request=LayoutRequest(precision="bf16"))
    elapsed = time.perf_counter() - start
    n = len(candidates(ctx, gpus, LayoutRequest(), Layout(seq=8192, global_batch=2048)))
    return elapsed, n, describe_layout(plan["inputs"]["layout"])


def main() -> None:
    ms = one_plan_ms()
    print(
        f"one plan evaluation (llama3-405b, 16,384 x h100-sxm): {ms:.2f} ms median (target <= 5 ms)"
    )
    elapsed, n, best = search_s()
    print(
        f"search llama3-405b on 16,384 x h100-sxm: {elapsed:.2f} s over {n} layout shapes (target"
        f" <= 2 s); best {best}"
    )
    elapsed, n, best = search_s(98304, "colossus-100k")
    print(
        f"search llama3-405b on 98,304 x h100-sxm (colossus-100k): {elapsed:.2f} s over {n}"
        f" layout shapes (target <= 3 s); best {best}"
    )


if __name__ == "__main__":
    main()
