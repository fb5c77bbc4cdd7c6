"""Search the parallel layouts of a model on a GPU count: enumerate, drop what can't fit, rank.

Enumerated (each only where the caller didn't fix it): TP over the divisors of the heads that
fit in the NVLink domain; CP over powers of two while a rank keeps >= 1,024 tokens; PP over
the stage counts that divide the GPUs left (uneven stages allowed); VP (interleaving) 1-8;
micro-batch 1-8; EP over the divisors of the experts (MoE); DP = GPUs / (TP PP CP).
Recompute and ZeRO are ordered by cost: ``none < selective < full`` and ZeRO ``1 <= 2 < 3``
(ZeRO-2 costs no extra communication when gradients are reduced once per step), so for each
shape the cheapest setting that fits memory is the only one evaluated: the others can't win.
Ranked by tokens per second (per GPU, equal GPUs), then by memory.
"""

from __future__ import annotations

import heapq
from dataclasses import replace
from typing import Any

from exabench.analysis.planner.layout import Layout, LayoutRequest, check_layout, divisors
from exabench.analysis.planner.step import Context, evaluate, fits
from exabench.errors import UserError

SEARCHED = ("tp", "pp", "vp", "cp", "ep", "mbs", "zero", "recompute")
MIN_CP_TOKENS = 1024


def _one_or(fixed: Any, choices: list[Any]) -> list[Any]:
    return choices if fixed is None else [fixed]


def _choices(ctx: Context, request: LayoutRequest, seq: int) -> dict[str, list[int]]:
    model = ctx.model
    node = ctx.cluster.nvlink_domain
    cps = [c for c in (1, 2, 4, 8, 16, 32)
           if c == 1 or seq % (2 * c) == 0 and seq // c >= MIN_CP_TOKENS]
    experts = model.moe.experts if model.moe else 1
    return {"tp": _one_or(request.tp, [d for d in divisors(model.heads) if d <= node]),
            "cp": _one_or(request.cp, cps),
            "ep": _one_or(request.ep, [e for e in divisors(experts) if e <= 64]),
            "mbs": _one_or(request.mbs, [1, 2, 4, 8]),
            "vp": _one_or(request.vp, [1, 2, 3, 4, 6, 8])}


def candidates(ctx: Context, gpus: int, request: LayoutRequest, base: Layout) -> list[Layout]:
    """Every layout shape (before recompute/ZeRO) that passes the layout checks."""
    ch = _choices(ctx, request, base.seq)
    out = []
    for tp in ch["tp"]:
        for cp in ch["cp"]:
            if gpus % (tp * cp):
                continue
            rest = gpus // (tp * cp)
            pps = _one_or(request.pp, [p for p in divisors(rest) if p <= ctx.model.layers])
            for pp in pps:
                if rest % pp:
                    continue
                dp = rest // pp
                if request.dp is not None and request.dp != dp:
                    continue
                for vp in (ch["vp"] if pp > 1 else [1]):
                    for mbs in ch["mbs"]:
                        for ep in ch["ep"]:
                            lo = replace(base, tp=tp, cp=cp, pp=pp, dp=dp, vp=vp, mbs=mbs, ep=ep)
                            try:
                                check_layout(ctx.model, lo, gpus)
                            except UserError:
                                continue
                            out.append(lo)
    return out


def _settings(request: LayoutRequest) -> list[tuple[str, int]]:
    recomputes = _one_or(request.recompute, ["none", "selective", "full"])
    zeros = _one_or(request.zero, [1, 2, 3])
    return [(r, z) for r in recomputes for z in zeros]


def search(ctx: Context, gpus: int, request: LayoutRequest, base: Layout,
           top: int = 10) -> list[tuple[Layout, dict[str, Any]]]:
    """The ``top`` feasible layouts, fastest first, each with its evaluation (memory included);
    the fields ``request`` fixes are kept, the rest searched. Layouts that fit with the
    fragmentation margin come first; only when none does are tight ones offered."""
    return (_search(ctx, gpus, request, base, top, allow_tight=False)
            or _search(ctx, gpus, request, base, top, allow_tight=True))


def _search(ctx: Context, gpus: int, request: LayoutRequest, base: Layout, top: int, *,
            allow_tight: bool) -> list[tuple[Layout, dict[str, Any]]]:
    settings = _settings(request)
    best: list[tuple[float, int, Layout]] = []
    counter = 0
    for shape in candidates(ctx, gpus, request, base):
        tried_recompute = set()
        for recompute, zero in settings:
            if recompute in tried_recompute:
                continue  # a cheaper ZeRO stage with this recompute already fits
            lo = replace(shape, recompute=recompute, zero=zero)
            ok, _ = fits(ctx, lo, allow_tight=allow_tight)
            if not ok:
                continue
            tried_recompute.add(recompute)
            rate = evaluate(ctx, lo, with_memory=False)["tokens_per_s_per_gpu"]
            counter += 1
            item = (rate, -counter, lo)
            if len(best) < top:
                heapq.heappush(best, item)
            elif rate > best[0][0]:
                heapq.heapreplace(best, item)
    ranked = sorted(best, key=lambda t: (-t[0], -t[1]))
    return [(lo, evaluate(ctx, lo)) for _, _, lo in ranked]


def why_best(ranked: list[tuple[Layout, dict[str, Any]]]) -> str:
    """One sentence on why the winner wins: where its step time goes, against the runner-up."""
    if not ranked:
        return "no layout fits"
    lo, res = ranked[0]
    parts = res["breakdown_s"]
    top = sorted(parts, key=lambda k: -parts[k])[:2]
    text = (
        f"{lo.describe()}: {res['tokens_per_s_per_gpu']:.0f} tokens/s/GPU, MFU {res['mfu']:.1%},"
        f" {res['memory']['gib_per_gpu']:.1f} GiB/GPU; most time in {top[0]}"
        f" ({parts[top[0]] / res['step_time_s']:.0%})"
    )
    if len(ranked) > 1:
        lo2, res2 = ranked[1]
        gain = res["tokens_per_s_per_gpu"] / res2["tokens_per_s_per_gpu"] - 1
        diffs = [
            k for k in parts if abs(parts[k] - res2["breakdown_s"][k]) > 0.01 * res["step_time_s"]
        ]
        if diffs:
            k = max(diffs, key=lambda k: res2["breakdown_s"][k] - parts[k])
            text += (f"; {gain:.1%} faster than {lo2.describe()}, mostly from less {k} "
                     f"({parts[k]:.3g} s vs {res2['breakdown_s'][k]:.3g} s)")
        else:
            text += f"; {gain:.1%} faster than {lo2.describe()}"
    return text
