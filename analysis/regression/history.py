"""Series of each benchmark over many Runs, per machine fingerprint, with their change points.

A series is one (suite, name, params, metric) on one ``environment.fingerprint`` (asv keeps a
history per machine; conbench compares only on equal hardware), its points ordered by the
Run's ``created`` time (then id). Each point is the median of the result's samples (``time``)
or the recorded metric. Change points come from
:func:`exabench.analysis.regression.changepoint.e_divisive` on the median times; throughput
metrics, computed from those medians as work / time, share their change points (so ``time``
and ``tflops`` never disagree), with their own levels.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from exabench.analysis.regression.changepoint import e_divisive
from exabench.analysis.regression.comparison import THROUGHPUT_METRICS, UNIT_DIRECTIONS
from exabench.analysis.regression.stats import HIGHER, LOWER
from exabench.documents.run import Result, Run
from exabench.errors import UserError


def _point(run: Run, value: float, result: Result) -> dict[str, Any]:
    telemetry = result.get("telemetry") or {}
    return {"run_id": run["id"], "created": run["created"], "commit": run.get("commit"),
            "value": value, "n": result["stats"].get("n"),
            "throttled": bool(telemetry.get("throttled"))}


def collect_series(runs: Sequence[Run],
                   metrics: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Group the ok results of ``runs`` into series (no change points yet), in a stable order."""
    ordered = sorted(runs, key=lambda r: (r["created"], r["id"]))
    series: dict[tuple, dict[str, Any]] = {}
    for run in ordered:
        fingerprint = run["environment"].get("fingerprint")
        for result in run["results"]:
            median = result["stats"].get("median")
            if result.get("status") != "ok" or not isinstance(median, (int, float)) or median <= 0:
                continue
            unit = result["unit"] or "s"
            sample_metric = "time" if unit == "s" else unit
            values = [(sample_metric, UNIT_DIRECTIONS.get(unit, LOWER), float(median))]
            if unit == "s":
                values += [(m, HIGHER, float(v)) for m in THROUGHPUT_METRICS
                           if isinstance(v := result["metrics"].get(m), (int, float)) and v > 0]
            params = json.dumps(result["params"], sort_keys=True, default=str)
            for metric, direction, value in values:
                if metrics and metric not in metrics:
                    continue
                key = (fingerprint, result["suite"], result["name"], params, metric)
                entry = series.setdefault(key, {
                    "suite": result["suite"], "name": result["name"], "params": result["params"],
                    "metric": metric, "fingerprint": fingerprint, "direction": direction,
                    "sample_metric": sample_metric, "points": [], "change_points": []})
                entry["points"].append(_point(run, value, result))
    # Benchmarks in the order the runs list them, the sample metric (time) first, per fingerprint.
    return sorted(series.values(), key=lambda entry: str(entry["fingerprint"]))


def _change_points(
    entry: dict[str, Any], indices: list[int], p_values: dict[int, float]
) -> list[dict]:
    """Change-point records for ``indices`` with this series' own before/after medians."""
    values = np.array([p["value"] for p in entry["points"]])
    edges = [0, *indices, values.size]
    records = []
    for k, index in enumerate(indices):
        before = float(np.median(values[edges[k]:index]))
        after = float(np.median(values[index:edges[k + 2]]))
        magnitude = after / before - 1
        worse = magnitude > 0 if entry["direction"] == LOWER else magnitude < 0
        point = entry["points"][index]
        records.append({"index": index, "run_id": point["run_id"], "created": point["created"],
                        "commit": point["commit"], "before": before, "after": after,
                        "magnitude": magnitude, "p_value": p_values[index],
                        "direction": "regressed" if worse else "improved"})
    return records


def analyse_history(
    runs: Sequence[Run],
    *,
    p_value: float = 0.01,
    permutations: int = 199,
    min_size: int = 3,
    metrics: Sequence[str] | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """The ``history`` document (docs/regression.md): every series with its change points."""
    if permutations + 1 < 1 / p_value:
        raise UserError(f"{permutations} permutations can never reach p <= {p_value:g}; "
                        f"use at least {int(np.ceil(1 / p_value)) - 1}")
    series = collect_series(runs, metrics)
    if not series:
        raise UserError(f"the {len(runs)} runs hold no successful result"
                        + (f" with the metric {', '.join(metrics)}" if metrics else ""))
    found: dict[tuple, tuple[list[int], dict[int, float]]] = {}
    for entry in series:
        run_ids = tuple(p["run_id"] for p in entry["points"])
        key = (
            entry["fingerprint"],
            entry["suite"],
            entry["name"],
            json.dumps(entry["params"], sort_keys=True, default=str),
            run_ids,
        )
        if key not in found:  # the benchmark's sample metric: collect_series orders it first
            cps = e_divisive([p["value"] for p in entry["points"]], p_value=p_value,
                             permutations=permutations, min_size=min_size, seed=seed)
            found[key] = ([c.index for c in cps], {c.index: c.p_value for c in cps})
        entry["change_points"] = _change_points(entry, *found[key])
    for entry in series:
        del entry["sample_metric"]
    return {"runs": len(runs), "p_value": p_value, "permutations": permutations,
            "min_size": min_size, "series": series}
