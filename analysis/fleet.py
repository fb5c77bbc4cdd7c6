"""Fleet screening: which GPUs (and nodes) of an allocation are slow, from one Run per GPU.

One slow GPU sets the pace of every synchronous training step it takes part in, so a
100k-GPU job is only as fast as its worst GPUs. For every figure measured on every GPU (GEMM
TFLOP/s, memory GB/s, each rank's own busbw in the collectives), this module computes the
fleet's median, its spread, and each GPU's robust z-score:

    z = 0.6745 (x - median) / MAD,   MAD = median(|x - median|)

the modified z-score of Iglewicz and Hoaglin (*How to Detect and Handle Outliers*, ASQC 1993,
section 3.2): 0.6745 = Phi^-1(0.75) makes it comparable to a standard normal z, and |z| > 3.5
marks an outlier. Median and MAD ignore the outliers themselves (a mean and standard deviation
would be dragged by them). When MAD is 0 (more than half the fleet identical) the mean absolute
deviation scaled by 1.2533 = sqrt(pi/2) stands in (IBM SPSS's documented rule for the same
statistic). A GPU is flagged only if it is also ``min_rel_dev`` (3 %) below the median, so a
very tight fleet doesn't flag differences nobody would act on.

All figures here are "higher is better" (throughput). Pure computation: no torch, no files.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

Z_THRESHOLD = 3.5
MAD_SCALE = 0.6745
MEANAD_SCALE = 1.2533
MIN_REL_DEV = 0.03
MIN_GPUS = 5
"""Fewer GPUs holding a figure than this: spread reported, no outlier flagged (the median and
MAD of 3 or 4 values are too fragile to call one of them an outlier)."""
PRIMARY_METRIC = {"gemm": "tflops", "memory": "gbps", "collectives": "busbw_gbps"}
FALLBACK_METRICS = ("tflops", "gbps", "busbw_gbps", "algbw_gbps")


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def robust_z(values: Iterable[float]) -> list[float]:
    """Modified z-score of each value (0 for all when the values don't vary)."""
    xs = [float(v) for v in values]
    if not xs:
        return []
    med = _median(xs)
    mad = _median([abs(x - med) for x in xs])
    if mad > 0:
        return [MAD_SCALE * (x - med) / mad for x in xs]
    mean_ad = sum(abs(x - med) for x in xs) / len(xs)
    if mean_ad == 0:
        return [0.0] * len(xs)
    return [(x - med) / (MEANAD_SCALE * mean_ad) for x in xs]


def _metric_of(result: Mapping[str, Any]) -> str | None:
    metrics = result.get("metrics") or {}
    name = PRIMARY_METRIC.get(result.get("suite", ""))
    if name and isinstance(metrics.get(name), (int, float)):
        return name
    return next((m for m in FALLBACK_METRICS if isinstance(metrics.get(m), (int, float))), None)


def figure_key(result: Mapping[str, Any], metric: str) -> str:
    """``suite/name[param=value,...]:metric``, stable across GPUs and runs."""
    params = ",".join(f"{k}={v}" for k, v in sorted((result.get("params") or {}).items())
                      if k not in ("label", "count", "nranks", "collective") and v is not None)
    return f"{result['suite']}/{result['name']}[{params}]:{metric}"


def figures_from_run(doc: Mapping[str, Any]) -> dict[str, float]:
    """Every ok result of a per-GPU Run with a throughput metric, whatever its suite."""
    figures = {}
    for result in doc.get("results", []):
        metric = _metric_of(result) if result.get("status") == "ok" else None
        value = (result.get("metrics") or {}).get(metric) if metric else None
        if isinstance(value, (int, float)) and math.isfinite(value):
            figures[figure_key(result, metric)] = float(value)
    return figures


def link_figures(doc: Mapping[str, Any]) -> dict[int, dict[str, float]]:
    """Per-rank link figures from a collectives Run: each rank's busbw from its own median
    time (``ranks.busbw_gbps``), so a slow link shows on the ranks that use it."""
    per_rank: dict[int, dict[str, float]] = {}
    for result in doc.get("results", []):
        ranks = result.get("ranks") or {}
        if (
            result.get("suite") != "collectives"
            or result.get("status") != "ok"
            or not ranks.get("busbw_gbps")
        ):
            continue
        key = figure_key(result, "rank_busbw_gbps")
        for rank, value in enumerate(ranks["busbw_gbps"]):
            if isinstance(value, (int, float)) and math.isfinite(value):
                per_rank.setdefault(rank, {})[key] = float(value)
    return per_rank


STATISTIC = "modified z-score 0.6745 (x - median) / MAD (Iglewicz & Hoaglin 1993)"


def _sample_sd(values: list[float], mean: float) -> float | None:
    """Sample standard deviation (n - 1 in the denominator); None for a single value."""
    if len(values) < 2:
        return None
    return math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def _figure(key: str, holders: list[Mapping[str, Any]], *, threshold: float,
            min_rel_dev: float, min_gpus: int) -> dict[str, Any]:
    """The statistics of one figure over the GPUs that hold it, with its outliers: |z| above
    ``threshold`` and at least ``min_rel_dev`` off the median, among ``min_gpus`` or more."""
    values = [g["figures"][key] for g in holders]
    med = _median(values)
    outliers = []
    for g, x, z in zip(holders, values, robust_z(values), strict=True):
        rel = (x - med) / med if med else 0.0
        if len(values) >= min_gpus and abs(z) > threshold and abs(rel) >= min_rel_dev:
            outliers.append({"rank": g["rank"], "host": g.get("host"), "value": x, "z": z,
                             "rel_dev": rel, "direction": "slow" if x < med else "fast"})
    mean = sum(values) / len(values)
    sd = _sample_sd(values, mean)
    return {
        "figure": key, "n": len(values), "median": med,
        "mad": _median([abs(v - med) for v in values]), "min": min(values), "max": max(values),
        "spread_pct": 100 * (max(values) - min(values)) / med if med else None,
        "cv": sd / mean if sd is not None and mean else None, "outliers": outliers,
        # Every GPU's value, so a report of 100k GPUs reads one file, not 100k Runs.
        "values": [[g["rank"], x] for g, x in zip(holders, values, strict=True)],
    }


def _slow_flags(figures: list[dict[str, Any]]) -> dict[Any, list[dict[str, Any]]]:
    """rank -> the figures it is a slow outlier of, in figure order."""
    flags: dict[Any, list[dict[str, Any]]] = {}
    for fig in figures:
        for o in fig["outliers"]:
            if o["direction"] == "slow":
                flags.setdefault(o["rank"], []).append(
                    {"figure": fig["figure"], "z": o["z"], "rel_dev": o["rel_dev"]}
                )
    return flags


def _flagged_gpus(gpus: list[Mapping[str, Any]],
                  flags: dict[Any, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    by_rank = {g["rank"]: g for g in gpus}
    return [
        {
            "rank": r,
            "host": by_rank[r].get("host"),
            "local_rank": by_rank[r].get("local_rank"),
            "device": by_rank[r].get("device"),
            "uuid": by_rank[r].get("uuid"),
            "figures": items,
            "worst_z": min(i["z"] for i in items),
        }
        for r, items in sorted(flags.items())
    ]


def _flagged_nodes(nodes: dict[str, list[int]], flags: dict[Any, Any]) -> list[dict[str, Any]]:
    return [
        {"host": host, "gpus": len(ranks), "flagged_ranks": sorted(set(ranks) & set(flags))}
        for host, ranks in sorted(nodes.items())
        if set(ranks) & set(flags)
    ]


def summarize_fleet(gpus: list[Mapping[str, Any]], *, threshold: float = Z_THRESHOLD,
                    min_rel_dev: float = MIN_REL_DEV, min_gpus: int = MIN_GPUS) -> dict[str, Any]:
    """``gpus``: one record per GPU: ``rank``, ``host``, ``local_rank``, ``figures`` (key ->
    value), optionally ``device`` and ``error``. Returns the per-figure statistics (with every
    GPU's ``[rank, value]``), the flagged GPUs and nodes, and a verdict (``ok`` or
    ``outliers``)."""
    keys = sorted({k for g in gpus for k in g.get("figures", {})})
    figures = [
        _figure(key, [g for g in gpus if key in g.get("figures", {})], threshold=threshold,
                min_rel_dev=min_rel_dev, min_gpus=min_gpus)
        for key in keys
    ]
    flags = _slow_flags(figures)
    flagged = _flagged_gpus(gpus, flags)
    nodes: dict[str, list[int]] = {}
    for g in gpus:
        nodes.setdefault(str(g.get("host")), []).append(g["rank"])
    errors = [
        {"rank": g["rank"], "host": g.get("host"), "error": g["error"]}
        for g in gpus
        if g.get("error")
    ]
    return {
        "gpus": len(gpus),
        "nodes": len(nodes),
        "threshold_z": threshold,
        "min_rel_dev": min_rel_dev,
        "min_gpus": min_gpus,
        "statistic": STATISTIC,
        "figures": figures,
        "flagged_gpus": flagged,
        "flagged_nodes": _flagged_nodes(nodes, flags),
        "errors": errors,
        "verdict": "outliers" if flagged else ("errors" if errors else "ok"),
    }
