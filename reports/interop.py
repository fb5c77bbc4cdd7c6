"""A Run in the JSON shapes existing dashboards read: pytest-benchmark's and Bencher's.

- **pytest-benchmark** (``src/pytest_benchmark/plugin.py: pytest_benchmark_generate_json``):
  ``machine_info``, ``commit_info``, ``benchmarks[]``, ``datetime``, ``version``. Each benchmark
  has ``group, name, fullname, params, param, extra_info, options, stats`` and ``stats`` the
  fields of ``pytest_benchmark.stats.Stats`` computed the same way (quartiles by its "method
  3 / method 2", outliers, ``ops = rounds / total``) plus ``iterations`` and ``data`` (every
  sample). Bencher's ``python_pytest`` adapter and github-action-benchmark's ``pytest``
  extractor read this (bencherdev/bencher@8d75325
  ``lib/bencher_adapter/src/adapters/python/pytest.rs``;
  benchmark-action/github-action-benchmark@c38cce9 ``src/extract.ts``). Only ``ok`` results are
  written: pytest-benchmark has no failed benchmark either.
- **Bencher Metric Format** (BMF): ``{benchmark: {measure: {value, lower_value, upper_value}}}``;
  ``latency`` is Bencher's built-in measure in nanoseconds (median, with q1/q3 as bounds), and
  each throughput metric becomes a measure of its own name. A throughput is work / time computed
  from the median time (``bench/harness.py``: ``case.metrics(median, ...)``), so its bounds come
  from the same time quartiles, swapped: ``lower = work / q3``, ``upper = work / q1``, with
  ``work = value · median`` (:func:`throughput_bounds`).

GPU and fingerprint facts go into ``machine_info["exabench"]``; the timer (CUDA events or
``perf_counter_ns``) and the flush mode into each benchmark's ``options``.
"""

from __future__ import annotations

import math
import statistics
from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence
from typing import Any

from exabench import __version__
from exabench.analysis.regression.pytest_benchmark import exported_fullname
from exabench.documents.run import exabench_machine_info

PYTEST_BENCHMARK_VERSION = "5.3.1"  # the version whose JSON shape this follows (tested against it)
THROUGHPUT_METRICS = ("tflops", "gbps", "algbw_gbps", "busbw_gbps")


def _q1(data: list[float]) -> float:
    n = len(data)
    if n == 1:
        return data[0]
    if n % 2:
        k, q = n // 4, n % 4
        return (
            0.25 * data[k - 1] + 0.75 * data[k] if q == 1 else 0.75 * data[k] + 0.25 * data[k + 1]
        )
    return statistics.median(data[: n // 2])


def _q3(data: list[float]) -> float:
    n = len(data)
    if n == 1:
        return data[0]
    if n % 2:
        k, q = n // 4, n % 4
        return (0.75 * data[3 * k] + 0.25 * data[3 * k + 1] if q == 1
                else 0.25 * data[3 * k + 1] + 0.75 * data[3 * k + 2])
    return statistics.median(data[n // 2:])


def pytest_benchmark_stats(
    samples: Sequence[float], *, include_data: bool = True
) -> dict[str, Any]:
    """The ``stats`` block of one pytest-benchmark benchmark, computed as ``Stats`` does."""
    data = [float(s) for s in samples if s is not None and math.isfinite(s)]  # null: missing
    ordered = sorted(data)
    mean = statistics.mean(data)
    stddev = statistics.stdev(data) if len(data) > 1 else 0
    q1, q3 = _q1(ordered), _q3(ordered)
    iqr = q3 - q1
    low, high = q1 - 1.5 * iqr, q3 + 1.5 * iqr
    total = sum(data)
    stats = {
        "min": ordered[0], "max": ordered[-1], "mean": mean, "stddev": stddev, "rounds": len(data),
        "median": statistics.median(data), "iqr": iqr, "q1": q1, "q3": q3,
        "iqr_outliers": sum(1 for v in data if v < low or v > high),
        "stddev_outliers": sum(1 for v in data if v < mean - stddev or v > mean + stddev),
        "outliers": "",
        "ld15iqr": ordered[0] if len(data) == 1 else ordered[bisect_left(ordered, low)],
        "hd15iqr": ordered[0] if len(data) == 1 else ordered[bisect_right(ordered, high) - 1],
        "ops": len(data) / total if total else 0, "total": total, "iterations": 1,
    }
    stats["outliers"] = f"{stats['stddev_outliers']};{stats['iqr_outliers']}"
    if include_data:
        stats["data"] = data
    return stats


def machine_info(environment: Mapping[str, Any]) -> dict[str, Any]:
    host = environment.get("host") or {}
    system, _, release = str(host.get("os") or "").partition(" ")
    return {
        "node": host.get("hostname"),
        "processor": host.get("cpu_model"),
        "machine": host.get("machine"),
        "python_compiler": None,
        "python_implementation": "CPython",
        "python_implementation_version": host.get("python"),
        "python_version": host.get("python"),
        "python_build": None,
        "release": release or None,
        "system": system or None,
        "cpu": {
            "brand_raw": host.get("cpu_model"),
            "count": host.get("cpu_cores"),
            "arch": host.get("machine"),
        },
        "exabench": exabench_machine_info(environment),
    }


def param_id(params: Mapping[str, Any]) -> str:
    """pytest's parametrize id style: values joined by ``-``."""
    return "-".join(f"{k}={v}" for k, v in params.items())


def _timer(run: Mapping[str, Any]) -> str:
    device = str((run.get("config") or {}).get("device") or "")
    return "cuda_event" if device.startswith("cuda") else "perf_counter_ns+synchronize"


def benchmark_entry(result: Mapping[str, Any], run: Mapping[str, Any]) -> dict[str, Any]:
    param = param_id(result["params"])
    name = f"{result['name']}[{param}]" if param else result["name"]
    timing = result.get("timing") or {}
    return {
        "group": result["suite"],
        "name": name,
        "fullname": exported_fullname(result),  # the one naming rule, which compare reads back
        "params": dict(result["params"]),
        "param": param or None,
        "extra_info": {
            "unit": result.get("unit"),
            "metrics": result.get("metrics"),
            "exabench_stats": result.get("stats"),
            "telemetry": result.get("telemetry"),
            "run_id": run.get("id"),
        },
        "options": {
            "timer": _timer(run),
            "flush": timing.get("flush"),
            "cuda_graph": timing.get("cuda_graph"),
            "warmup_ms": timing.get("warmup_ms"),
            "rep_ms": timing.get("rep_ms"),
            "min_rounds": None,
            "max_time": None,
            "min_time": None,
            "disable_gc": False,
            "precision": None,
            "confidence": None,
            "warmup": True,
        },
        "stats": pytest_benchmark_stats(result["samples"]),
    }


def _ok(run: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [r for r in run["results"] if r.get("status") == "ok"
            and any(s is not None and math.isfinite(s) for s in r["samples"])]


def to_pytest_benchmark(run: Mapping[str, Any]) -> dict[str, Any]:
    """The whole Run as one pytest-benchmark JSON document."""
    return {
        "machine_info": machine_info(run.get("environment") or {}),
        "commit_info": {"id": run.get("commit") or "unknown", "time": None, "author_time": None,
                        "dirty": False, "project": "exabench", "branch": None},
        "benchmarks": [benchmark_entry(r, run) for r in _ok(run)],
        "datetime": run.get("created"),
        "version": PYTEST_BENCHMARK_VERSION,
        "generator": f"exabench {__version__} export",
    }


def _positive(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def throughput_bounds(value: float, stats: Mapping[str, Any]) -> dict[str, float]:
    """Bencher's ``lower_value``/``upper_value`` of a work / time measure from the time
    quartiles: ``value · median / q3`` and ``value · median / q1`` (= work / q3, work / q1,
    ``value = work / median``). Empty when a quartile or the median is missing or not positive."""
    median, q1, q3 = stats.get("median"), stats.get("q1"), stats.get("q3")
    if not (_positive(median) and _positive(q1) and _positive(q3)):
        return {}
    return {"lower_value": value * (median / q3), "upper_value": value * (median / q1)}


def to_bmf(run: Mapping[str, Any]) -> dict[str, Any]:
    """The Run in Bencher Metric Format."""
    out: dict[str, Any] = {}
    for result in _ok(run):
        stats, param = result["stats"], param_id(result["params"])
        name = f"{result['suite']}/{result['name']}" + (f"[{param}]" if param else "")
        measures: dict[str, Any] = {}
        if (result.get("unit") or "s") == "s" and stats.get("median") is not None:
            measures["latency"] = {"value": stats["median"] * 1e9, "lower_value": stats["q1"] * 1e9,
                                   "upper_value": stats["q3"] * 1e9}
        timed = (result.get("unit") or "s") == "s"  # samples in seconds: the time of work / time
        for metric in THROUGHPUT_METRICS:
            value = (result.get("metrics") or {}).get(metric)
            if isinstance(value, (int, float)):
                bounds = throughput_bounds(value, stats) if timed else {}
                measures[metric] = {"value": value, **bounds}
        if measures:
            out[name] = measures
    return out
