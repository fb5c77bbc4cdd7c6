"""Plans and comparisons as tidy tables for the charts and tables of a report.

Field names follow the Plan document (docs/run-format.md) and ``compare --format json``
(docs/regression.md). Everything except
``inputs`` and ``step_time_s`` is optional: a missing field is a missing cell, never an error,
so a report reads Plans from planner versions that compute more or less than this one.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from exabench.analysis.planner.layout import describe_layout
from exabench.reports.fmt import nbytes
from exabench.reports.inputs.documents import Document
from exabench.reports.tidy.runs import first, number

PERCENTILES = ("p10", "p50", "p90")


def _name(value: Any) -> str | None:
    if isinstance(value, dict):
        found = first(value, ("name", "id", "description"))
        return None if found is None else str(found)
    return None if value is None else str(value)


def plan_gpus(plan: dict[str, Any]) -> float | None:
    """GPUs in the plan: ``inputs.gpus``, the cluster's or the layout's count, else tp·pp·dp·cp."""
    inputs = plan.get("inputs") or {}
    layout = inputs.get("layout") if isinstance(inputs.get("layout"), dict) else {}
    cluster = inputs.get("cluster") if isinstance(inputs.get("cluster"), dict) else {}
    for value in (inputs.get("gpus"), layout.get("gpus"), cluster.get("gpus"), plan.get("gpus")):
        if number(value):
            return number(value)
    degrees = [number(layout.get(axis)) for axis in ("tp", "pp", "dp", "cp")]
    if layout and all(d for d in degrees[:3]):
        return math.prod(d or 1 for d in degrees)
    return None


def layout_text(plan: dict[str, Any]) -> str:
    """The Plan's layout in the one text the planner gives it (``Layout.describe``)."""
    layout = (plan.get("inputs") or {}).get("layout")
    return describe_layout(layout) if isinstance(layout, dict) else ""


def plan_label(plan: dict[str, Any]) -> str:
    """``llama3-70b · h100-sxm · 1,024 GPUs``: what a reader recognises a Plan by."""
    inputs = plan.get("inputs") or {}
    gpus = plan_gpus(plan)
    parts = [_name(inputs.get("model")), _name(inputs.get("hardware")),
             f"{round(gpus):,} GPUs" if gpus else None]
    return " · ".join(p for p in parts if p) or "plan"


def plans_frame(plans: list[Document]) -> pd.DataFrame:
    """One row per Plan: the headline numbers and the derived cluster throughput and $/Mtoken."""
    rows = []
    for document in plans:
        plan = document.doc
        inputs = plan.get("inputs") or {}
        memory, training = plan.get("memory") or {}, plan.get("training") or {}
        power, cost = plan.get("power") or {}, plan.get("cost") or {}
        gpus = plan_gpus(plan)
        per_gpu = number(plan.get("tokens_per_s_per_gpu"))
        tokens, usd = number(training.get("tokens")), number(cost.get("usd"))
        rows.append({
            "source": document.source,
            "label": plan_label(plan),
            "model": _name(inputs.get("model")) or "model",
            "hardware": _name(inputs.get("hardware")) or "",
            "cluster": _name(inputs.get("cluster")) or "",
            "layout": layout_text(plan),
            "gpus": gpus,
            "step_time_s": number(plan.get("step_time_s")),
            "tokens_per_s_per_gpu": per_gpu,
            "tokens_per_s": per_gpu * gpus if per_gpu and gpus else None,
            "model_tflops_per_gpu": number(plan.get("model_tflops_per_gpu")),
            "mfu": number(plan.get("mfu")),
            "gib_per_gpu": number(memory.get("gib_per_gpu")),
            "fits": memory.get("fits"),
            "tokens": tokens,
            "days": number(training.get("days")),
            "gpu_hours": number(training.get("gpu_hours")),
            "goodput": number(training.get("goodput")),
            "it_mw": number(power.get("it_mw")),
            "facility_mw": number(power.get("facility_mw")),
            "energy_mwh": number(power.get("energy_mwh")),
            "usd": usd,
            "usd_per_gpu_hour": number(cost.get("usd_per_gpu_hour")),
            "usd_per_mtok": usd / tokens * 1e6 if usd and tokens else None,
        })
    return pd.DataFrame(rows)


def _leaves(value: Any, prefix: str = "") -> list[tuple[str, float]]:
    if isinstance(value, dict):
        out: list[tuple[str, float]] = []
        for key, inner in value.items():
            out += _leaves(inner, f"{prefix}{key}" if not prefix else f"{prefix}.{key}")
        return out
    x = number(value)
    return [(prefix, x)] if x is not None else []


def breakdown_frame(plans: list[Document]) -> pd.DataFrame:
    """label, part, seconds: the step-time parts of each Plan (nested parts flattened with dots;
    totals left out so the stack sums to the step)."""
    rows = []
    for document in plans:
        label = plan_label(document.doc)
        for part, seconds in _leaves(document.doc.get("breakdown_s") or {}):
            if part.split(".")[-1].lower() in ("total", "step", "step_time") or seconds <= 0:
                continue
            rows.append({"label": label, "part": part, "seconds": seconds})
    return pd.DataFrame(rows)


def _percentiles(value: Any) -> dict[str, float] | None:
    if not isinstance(value, dict):
        return None
    lowered = {str(k).lower(): number(v) for k, v in value.items()}
    if all(lowered.get(p) is not None for p in PERCENTILES):
        return {p: lowered[p] for p in PERCENTILES}
    return None


def uncertainty_frame(plans: list[Document]) -> pd.DataFrame:
    """label, gpus, metric, p10, p50, p90. Reads ``{"days": {"p10":…}}`` and
    ``{"p10": {"days":…}, "p50":…}`` alike."""
    rows = []
    for document in plans:
        unc = document.doc.get("uncertainty") or {}
        label, gpus = plan_label(document.doc), plan_gpus(document.doc)
        lowered = {str(k).lower(): v for k, v in unc.items()}
        if all(isinstance(lowered.get(p), dict) for p in PERCENTILES):
            metrics = set.intersection(*(set(lowered[p]) for p in PERCENTILES))
            by_metric = {m: {p: lowered[p][m] for p in PERCENTILES} for m in sorted(metrics)}
        else:
            by_metric = {k: v for k, v in unc.items() if k != "sensitivity"}
        for metric, value in by_metric.items():
            values = _percentiles(value)
            if values:
                rows.append({"label": label, "gpus": gpus, "metric": str(metric), **values})
    return pd.DataFrame(rows)


def sensitivity_frame(plans: list[Document]) -> pd.DataFrame:
    """label, input, metric, low, high, swing: how far each uncertain input moves the result.
    Reads ``uncertainty.sensitivity`` (or a top-level ``sensitivity``) as a list of
    ``{input|name, low, high}`` / ``{input, effect}`` rows or a ``{input: effect}`` map."""
    rows = []
    for document in plans:
        plan = document.doc
        raw = (plan.get("uncertainty") or {}).get("sensitivity", plan.get("sensitivity"))
        if isinstance(raw, dict):
            raw = [
                {"input": k, **(v if isinstance(v, dict) else {"effect": v})}
                for k, v in raw.items()
            ]
        for entry in raw if isinstance(raw, list) else []:
            if not isinstance(entry, dict):
                continue
            name = first(entry, ("input", "name", "parameter", "assumption"))
            low, high = number(entry.get("low")), number(entry.get("high"))
            effect = number(first(entry, ("effect", "swing", "impact")))
            if low is None or high is None:
                if effect is None:
                    continue
                low, high = -abs(effect) / 2, abs(effect) / 2
            rows.append({
                "label": plan_label(plan),
                "input": str(name),
                "metric": str(entry.get("metric", "")),
                "low": low,
                "high": high,
                "swing": abs(high - low),
            })
    return pd.DataFrame(rows)


def _params_text(params: Any, name: str) -> str:
    """The params that tell same-named results apart: not those the name already spells, byte
    counts in binary units (``bytes=1 MiB``)."""
    if not isinstance(params, dict):
        return ""
    parts = []
    for key, value in params.items():
        if key == "backend" or str(value) in name:
            continue
        parts.append(f"{key}={nbytes(value) if key == 'bytes' else value}")
    return " ".join(parts)


def comparison_frame(comparisons: list[Document]) -> pd.DataFrame:
    """label (suite name params metric), ratio new/base with its confidence interval, verdict."""
    rows = []
    for document in comparisons:
        # compare's interval is at level 1 - alpha (99 % at its default alpha of 0.01).
        alpha = number(document.doc.get("alpha"))
        level = 1 - alpha if alpha is not None and 0 < alpha < 1 else None
        for row in document.doc.get("results") or []:
            ratio = number(row.get("ratio"))
            if ratio is None:
                continue
            ci = (
                row.get("ci")
                if isinstance(row.get("ci"), (list, tuple)) and len(row.get("ci")) == 2
                else (None, None)
            )
            name = str(row.get("name") or row.get("suite") or "")
            label = " ".join(x for x in (name, f"[{row['metric']}]" if row.get("metric") else "",
                                         _params_text(row.get("params"), name)) if x)
            rows.append({
                "source": document.source,
                "label": label,
                "metric": str(row.get("metric", "")),
                "base": number(row.get("base")),
                "new": number(row.get("new")),
                "ratio": ratio,
                "ci_lo": number(ci[0]) if number(ci[0]) is not None else ratio,
                "ci_hi": number(ci[1]) if number(ci[1]) is not None else ratio,
                "p_value": number(row.get("p_value")),
                "verdict": str(row.get("verdict", "unknown")),
                "ci_level": level,
            })
    return pd.DataFrame(rows)
