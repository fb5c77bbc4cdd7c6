"""Compare two Run documents: match results, compare each metric, one overall verdict.

Results match by ``suite``, ``name`` and ``params`` (a repeated case matches by occurrence).
Metrics and their direction:

- ``time`` (results in seconds; lower is better) from the raw ``samples``;
- throughput metrics computed from the median time as work / time (``tflops``, ``gbps``,
  ``algbw_gbps``, ``busbw_gbps``; higher is better) share the time comparison, inverted
  (:func:`exabench.analysis.regression.stats.inverted`);
- results in another unit compare their samples in that unit, with the direction of
  :data:`UNIT_DIRECTIONS` (lower is better when the unit is unknown).

Failed and skipped results: ``ok`` in base and ``failed`` in new is ``regressed`` (a benchmark
that now fails, asv's ``!``); the reverse is ``improved`` (asv's ``*``); anything else with a
skip or a failure is listed under ``not_compared``. The overall verdict is the worst of the
rows: regressed, then inconclusive, then improved, then unchanged.

Output: the ``compare`` JSON of docs/regression.md (``verdict``, ``results[]`` with ``suite, name,
params, metric, base, new, ratio, ci, p_value, verdict``) plus fields that explain each verdict.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from exabench.analysis.regression.stats import (
    HIGHER,
    LOWER,
    Comparison,
    Gate,
    compare_samples,
    inverted,
)
from exabench.analysis.regression.thresholds import Rules
from exabench.documents.run import Result, Run, identity_field
from exabench.errors import UserError

THROUGHPUT_METRICS = ("tflops", "gbps", "algbw_gbps", "busbw_gbps")
UNIT_DIRECTIONS = {"s": LOWER, "ms": LOWER, "us": LOWER, "W": LOWER, "J": LOWER,
                   "GB/s": HIGHER, "TFLOP/s": HIGHER, "tokens/s": HIGHER}
SEVERITY = ("regressed", "inconclusive", "improved", "unchanged")  # worst first


def result_key(result: Result) -> tuple[str, str, str]:
    return (str(result["suite"]), str(result["name"]),
            json.dumps(result["params"], sort_keys=True, default=str))


def index_results(results: Sequence[Result]) -> dict[tuple, Result]:
    """``{(suite, name, params, occurrence): result}`` in document order."""
    seen: dict[tuple, int] = {}
    indexed = {}
    for result in results:
        key = result_key(result)
        seen[key] = seen.get(key, 0) + 1
        indexed[(*key, seen[key])] = result
    return indexed


def describe(result: Result) -> str:
    params = ",".join(f"{k}={v}" for k, v in result["params"].items())
    return f"{result['suite']}/{result['name']}[{params}]"


def fingerprint_differences(
    base_env: Mapping[str, Any], new_env: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """The identity fields (``fingerprint_fields``) whose values differ; [] when the
    fingerprints are equal."""
    if base_env.get("fingerprint") == new_env.get("fingerprint"):
        return []
    fields = list(dict.fromkeys([*(base_env.get("fingerprint_fields") or []),
                                 *(new_env.get("fingerprint_fields") or [])]))
    differing = [
        {"field": f, "base": identity_field(base_env, f), "new": identity_field(new_env, f)}
        for f in fields
        if identity_field(base_env, f) != identity_field(new_env, f)
    ]
    return differing or [{"field": "fingerprint", "base": base_env.get("fingerprint"),
                          "new": new_env.get("fingerprint")}]


def throttle_flags(result: Result) -> dict[str, Any]:
    """Whether telemetry saw throttling in the result's window (``telemetry.throttled``), how many
    telemetry samples were throttled (``throttled_samples``: a count, or per-sample flags) and
    the reasons it decoded (``throttle_reasons``); see ``bench/telemetry_summary.py``."""
    telemetry = result.get("telemetry") or {}
    flags = telemetry.get("throttled_samples", result.get("throttled_samples"))
    if isinstance(flags, list):
        flagged = sum(1 for f in flags if f)
    else:
        flagged = flags if isinstance(flags, int) and not isinstance(flags, bool) else None
    return {"throttled": bool(telemetry.get("throttled")) or bool(flagged), "samples": flagged,
            "reasons": list(telemetry.get("throttle_reasons") or [])}


def _row(base: Result, new: Result, metric: str, direction: str,
         outcome: Comparison | None, gate: Gate, base_value: Any, new_value: Any,
         verdict: str | None = None, reason: str | None = None) -> dict[str, Any]:
    ratio = outcome.ratio if outcome else None
    return {
        "suite": base["suite"], "name": base["name"], "params": base["params"], "metric": metric,
        "base": base_value, "new": new_value, "ratio": ratio,
        "ci": list(outcome.ci) if outcome and outcome.ci else None,
        "p_value": outcome.p_value if outcome else None,
        "verdict": verdict or outcome.verdict,
        "reason": reason or outcome.reason,
        "direction": direction,
        "change_pct": None if ratio is None else 100 * (ratio - 1),
        "threshold_pct": 100 * gate.threshold, "max_cv_pct": 100 * gate.max_cv,
        "n": [outcome.n_base, outcome.n_new] if outcome else None,
        "cv": [outcome.cv_base, outcome.cv_new] if outcome else None,
        "min_p": outcome.min_p if outcome else None,
        "throttled": {"base": throttle_flags(base), "new": throttle_flags(new)},
    }


def _metrics_of(base: Result, new: Result) -> list[str]:
    both = [m for m in THROUGHPUT_METRICS
            if isinstance((base.get("metrics") or {}).get(m), (int, float))
            and isinstance((new.get("metrics") or {}).get(m), (int, float))]
    return both if base.get("unit") == "s" else []


def compare_pair(base: Result, new: Result, gate: Gate,
                 metrics: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """The rows of one matched pair of ok results: the sample metric, then derived ones."""
    unit = base.get("unit") or "s"
    sample_metric = "time" if unit == "s" else unit
    direction = UNIT_DIRECTIONS.get(unit, LOWER)
    outcome = compare_samples(base["samples"], new["samples"], gate=gate, direction=direction)
    rows = []
    if metrics is None or sample_metric in metrics:
        rows.append(_row(base, new, sample_metric, direction, outcome, gate,
                         base["stats"].get("median"), new["stats"].get("median")))
    for metric in _metrics_of(base, new):
        if metrics is None or metric in metrics:
            rows.append(_row(base, new, metric, HIGHER, inverted(outcome), gate,
                             base["metrics"][metric], new["metrics"][metric]))
    return rows


def _status_row(base: Result, new: Result, gate: Gate) -> dict[str, Any] | None:
    if base["status"] == "ok" and new["status"] == "failed":
        return _row(base, new, "status", LOWER, None, gate, "ok", "failed", "regressed",
                    f"fails in the new run: {new.get('error') or 'no reason given'}")
    if base["status"] == "failed" and new["status"] == "ok":
        return _row(base, new, "status", LOWER, None, gate, "failed", "ok", "improved",
                    "failed in the base run, passes in the new one")
    return None


def overall(verdicts: Sequence[str]) -> str:
    return next((v for v in SEVERITY if v in verdicts), "unchanged")


def compare_runs(
    base_run: Run,
    new_run: Run,
    *,
    gate: Gate,
    rules: Rules | None = None,
    metrics: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The ``compare`` document for two validated Runs (fingerprints are the caller's concern)."""
    rules = rules or Rules()
    base_index, new_index = index_results(base_run["results"]), index_results(new_run["results"])
    common = [key for key in base_index if key in new_index]
    if not common:
        raise UserError(
            f"runs {base_run.get('id')} ({len(base_index)} results) and {new_run.get('id')} "
            f"({len(new_index)} results) have no benchmark in common (same suite, name and params)")
    rows: list[dict[str, Any]] = []
    not_compared = []
    for key in common:
        base, new = base_index[key], new_index[key]
        row_gate = rules.gate_for(gate, base["suite"], base["name"], base["params"])
        if base["status"] == "ok" and new["status"] == "ok":
            rows.extend(compare_pair(base, new, row_gate, metrics))
        elif (row := _status_row(base, new, row_gate)) is not None:
            rows.append(row)
        else:
            not_compared.append({
                "suite": base["suite"],
                "name": base["name"],
                "params": base["params"],
                "reason": f"{base['status']} in base, {new['status']} in new",
            })
    if not rows:
        raise UserError(
            f"nothing to compare: all {len(common)} results the runs share are skipped or failed"
            + (f", or lack the metrics {', '.join(metrics)}" if metrics else "")
        )
    counts = {v: sum(r["verdict"] == v for r in rows) for v in SEVERITY}
    return {
        "verdict": overall([r["verdict"] for r in rows]),
        "counts": counts,
        "alpha": gate.alpha,
        "threshold_pct": 100 * gate.threshold,
        "max_cv_pct": 100 * gate.max_cv,
        "base": _run_summary(base_run),
        "new": _run_summary(new_run),
        "fingerprint_differences": fingerprint_differences(
            base_run["environment"], new_run["environment"]
        ),
        "results": rows,
        "not_compared": not_compared,
        "base_only": [describe(base_index[k]) for k in base_index if k not in new_index],
        "new_only": [describe(new_index[k]) for k in new_index if k not in base_index],
    }


def _run_summary(run: Run) -> dict[str, Any]:
    return {"id": run["id"], "created": run["created"], "commit": run.get("commit"),
            "fingerprint": run["environment"].get("fingerprint")}
